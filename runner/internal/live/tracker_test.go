package live

import (
	"testing"
	"time"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// stream builds a record stream with times counted from t0.
type stream struct {
	t0   time.Time
	recs []labelled
}

type labelled struct {
	label string
	rec   results.Record
}

func (s *stream) at(sec float64) time.Time {
	return s.t0.Add(time.Duration(sec * float64(time.Second)))
}

func (s *stream) event(label string, sec float64, kind string) {
	s.recs = append(s.recs, labelled{label, results.Record{Type: results.TypeEvent,
		Event: &results.Event{Time: s.at(sec), Kind: kind, Msg: kind}}})
}

func (s *stream) sample(label string, sec float64, step int, phase string, offered, open int) {
	s.recs = append(s.recs, labelled{label, results.Record{Type: results.TypeSample, Sample: &results.Sample{
		Time: s.at(sec), Step: step, Offered: offered, Phase: phase,
		Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: open, Sustained: open}}}}})
}

func TestTrackerPositionAndTimeLeft(t *testing.T) {
	// One measurement's plan: 18 s and 28 s, 46 s in all.
	plan := Plan{Steps: []bench.StepTime{
		{Ramp: 10 * time.Second, Settle: 3 * time.Second, Hold: 5 * time.Second},
		{Ramp: 20 * time.Second, Settle: 3 * time.Second, Hold: 5 * time.Second},
	}, Measurements: 4, PerModel: 1}
	tr := NewTracker(plan)
	s := &stream{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	feed := func() {
		for _, r := range s.recs {
			tr.Observe(r.label, r.rec)
		}
		s.recs = nil
	}
	check := func(what string, now float64, model, models, step int, phase string, left time.Duration) {
		t.Helper()
		st := tr.State(s.at(now))
		if st.Model != model || st.Models != models || st.Step != step || st.Phase != phase || st.Left != left {
			t.Errorf("%s: model %d of %d, step %d, %q, left %v; want model %d of %d, step %d, %q, left %v",
				what, st.Model, st.Models, st.Step, st.Phase, st.Left, model, models, step, phase, left)
		}
	}

	s.event("py-gevent", 0, model.EventSkipped) // 3 measurements left
	s.event("a", 0, results.EventStarted)
	feed()
	check("a starting: its plan and two more at their plan", 0, 1, 3, 0, PhaseStarting, 3*46*time.Second)

	s.sample("a", 2, -1, "", 0, 0) // the idle sample: no phase
	s.sample("a", 3, 0, PhaseRamp, 1000, 300)
	s.sample("a", 4, 0, PhaseRamp, 1000, 600)
	feed()
	// The ramp began at the idle sample (2 s): 2 s of its 10 s gone.
	check("a's first ramp", 4, 1, 3, 1, PhaseRamp, (8+3+5+28)*time.Second+2*46*time.Second)
	if st := tr.State(s.at(4)); !st.HasRate || st.Rate != 300 || st.PhaseFor != 2*time.Second {
		t.Errorf("rate %v (has %v), phase for %v; want +300/s over 2 s", st.Rate, st.HasRate, st.PhaseFor)
	}
	s.sample("a", 19, 1, PhaseSettle, 5000, 5000)
	s.sample("a", 20, 1, PhaseWindow, 5000, 5000)
	feed()
	// The window began at the settle's sample (19 s): 4 s of its 5 s left.
	check("a's last window", 20, 1, 3, 2, PhaseWindow, 4*time.Second+2*46*time.Second)
	check("a's window overrun: nothing left of it", 40, 1, 3, 2, PhaseWindow, 2*46*time.Second)

	// A step past the plan (a capacity search): the last step's settle
	// and hold, the ramp unknown; the step shows without "of".
	s.sample("a", 41, 2, PhaseRamp, 7000, 6000)
	feed()
	check("a step past the plan", 41, 1, 3, 3, PhaseRamp, 8*time.Second+2*46*time.Second)
	if got := Position(tr.State(s.at(41))); got != "model 1 of 3, step 3, about 2 min left" {
		t.Errorf("position past the plan: %q", got)
	}

	s.event("a", 90, results.EventTeardown)
	feed()
	check("a stopping", 90, 1, 3, 0, PhaseStopping, 2*46*time.Second)
	s.event("a", 92, results.EventEnded) // 92 s: twice its plan
	feed()
	if st := tr.State(s.at(92)); st.Phase != "" {
		t.Errorf("between measurements: phase %q, want no line", st.Phase)
	}
	if r := tr.Ratio(); r != 2 {
		t.Errorf("ratio after a took 92 s of a 46 s plan: %v, want 2", r)
	}

	s.event("b", 93, results.EventStarted)
	feed()
	// b's own plan as planned, the one after it at twice its plan.
	check("b starting", 93, 2, 3, 0, PhaseStarting, 46*time.Second+2*46*time.Second)
	s.event("b", 100, results.EventEnded) // b refused: 7 s
	s.event("c", 101, results.EventStarted)
	feed()
	// (92 + 7) / (2 × 46): the ratio of sums.
	if r, want := tr.Ratio(), 99.0/92; r != want {
		t.Errorf("ratio %v, want %v", r, want)
	}
	check("the last measurement", 101, 3, 3, 0, PhaseStarting, 46*time.Second)
}

// With a shared budget the time left is what is left of the run's budget
// (38 s for each of 3 measurements), however long each model takes.
func TestTrackerTimeLeftOfASharedBudget(t *testing.T) {
	tr := NewTracker(Plan{Steps: []bench.StepTime{{Ramp: time.Second, Settle: 3 * time.Second, Hold: 2 * time.Second}},
		Measurements: 3, PerModel: 1, Budget: 38 * time.Second})
	s := &stream{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.event("a", 0, results.EventStarted)
	s.sample("a", 1, 0, PhaseRamp, 1000, 500)
	s.event("a", 10, results.EventEnded) // refused early: its time goes to the others
	s.event("b", 10.5, results.EventStarted)
	s.sample("b", 20, 0, PhaseWindow, 1000, 1000)
	for _, r := range s.recs {
		tr.Observe(r.label, r.rec)
	}
	if got, want := tr.State(s.at(20)).Left, 3*38*time.Second-20*time.Second; got != want {
		t.Errorf("left at 20 s = %v, want %v", got, want)
	}
	if got := tr.State(s.at(200)).Left; got != 0 {
		t.Errorf("left past the budget = %v, want 0", got)
	}
}
