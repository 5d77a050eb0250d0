package bench

import (
	"context"
	"testing"

	"c10klab/runner/internal/results"
)

// Hostile steps run after the last step and are compared with it; the
// well-behaved connections of a sound model are all sustained beside them,
// and the hostiles' failures are not the model's.
func TestHostileStepsBesideTheWellBehaved(t *testing.T) {
	opt := testOptions(t, realModels(t), "epoll")
	opt.Steps = []int{200}
	opt.Hostile, opt.HostileShare = []string{"reset", "idle"}, 0.25
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := l.Steps("epoll")
	if len(steps) != 3 || steps[0].Hostile != nil || steps[1].Hostile == nil || steps[2].Hostile.Kind != "idle" {
		t.Fatalf("steps %+v: want the baseline, then reset, then idle", steps)
	}
	if steps[1].Hostile.Offered != 50 || steps[1].Hostile.Cycles == 0 {
		t.Errorf("reset step: hostile %+v, want 50 offered that reset and came back", steps[1].Hostile)
	}
	s := l.Summaries["epoll"]
	if len(s.Hostile) != 2 || s.Capacity != 200 || s.Stop != results.StopTarget {
		t.Fatalf("summary: capacity %d stop %q hostile %+v", s.Capacity, s.Stop, s.Hostile)
	}
	for _, e := range s.Hostile {
		if e.Baseline != 200 || e.Offered != 200 || (e.Failed != "" && e.Untrusted == "") {
			t.Errorf("%s: %+v, want the 200 well-behaved weathering it against a baseline of 200", e.Kind, e)
		}
	}
}
