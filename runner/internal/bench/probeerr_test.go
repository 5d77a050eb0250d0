package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/swarm"
)

// TestProbeErrorIsRecordedAndWarned provokes failing reads, one in the
// sampling loop (the model's tree pointed at a cgroup.procs that does not
// exist) and one in the guard (a cgroup removed under it), and checks that
// each is recorded once as a probe_error event however often it fails,
// and that REPORT.md names it among its warnings. No load, no model: a
// measurement with only what snapshot and guardTripped read.
func TestProbeErrorIsRecordedAndWarned(t *testing.T) {
	tests := []struct {
		name   string
		detail string
		setup  func(t *testing.T, m *measurement)
		read   func(m *measurement)
	}{{
		name:   "model tree at a missing cgroup",
		detail: results.ProbeModel,
		setup: func(t *testing.T, m *measurement) {
			m.tree = probe.NewTree(probe.TreeConfig{CgroupProcs: filepath.Join(t.TempDir(), "gone", "cgroup.procs")})
			m.sw = new(swarm.Swarm) // no agents: Collect sums nothing
		},
		read: func(m *measurement) { m.snapshot(0, 10) },
	}, {
		name:   "guard cgroup removed",
		detail: results.ProbeCgroup,
		setup: func(t *testing.T, m *measurement) {
			if err := guard.Supported(); err != nil {
				t.Skipf("no cgroups to remove: %v", err)
			}
			g, err := guard.New(guard.OwnedName(os.Getpid(), "probeerr-test"), guard.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Close(); err != nil { // its files go: every Check now fails
				t.Fatal(err)
			}
			m.cgroup = g
		},
		read: func(m *measurement) {
			if trip := m.guardTripped(); trip != "" {
				t.Errorf("a guard that cannot read tripped: %s", trip)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			const label = "m"
			if err := results.WriteRun(dir, &results.Run{ID: "t", Models: []string{label}}); err != nil {
				t.Fatal(err)
			}
			tl, err := results.CreateTimeline(dir, label)
			if err != nil {
				t.Fatal(err)
			}
			m := &measurement{opt: &Options{}, subject: subject{label: label}, recorder: recorder{tl: tl}}
			tt.setup(t, m)
			for range 3 {
				tt.read(m)
			}
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}

			l, err := results.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []results.Event
			for _, r := range l.Timelines[label] {
				if r.Event != nil && r.Event.Kind == results.EventProbeError {
					got = append(got, *r.Event)
				}
			}
			if len(got) != 1 || got[0].Detail != tt.detail {
				t.Fatalf("probe_error events %+v, want one with detail %q", got, tt.detail)
			}
			md, err := report.Markdown(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, warnings, _ := strings.Cut(string(md), "## Warnings")
			if want := label + ": reading the " + tt.detail + " failed"; !strings.Contains(warnings, want) {
				t.Errorf("REPORT.md's warnings lack %q:\n%s", want, warnings)
			}
		})
	}
}
