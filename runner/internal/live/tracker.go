package live

import (
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// Plan is what the run is set to do, known before it starts.
type Plan struct {
	// Steps is one measurement's planned steps (bench.StepTimes): the
	// same arithmetic as the scale profile's time bound (bench.Estimate).
	Steps []bench.StepTime
	// Measurements is how many model runs the run makes (models ×
	// --repeat), before any model is skipped; PerModel is how many of
	// them one model makes (--repeat), taken off for each model skipped.
	Measurements int
	PerModel     int
	// Budget is each measurement's share of the run's budget when the
	// models share it (bench.SharedBudget; 0: they do not): the run then
	// ends about when Budget × its measurements have passed since the
	// first began, whatever each model takes.
	Budget time.Duration
}

// Tracker follows a run's record stream and holds what the status line
// shows. Not safe for concurrent use: its caller serializes the records.
type Tracker struct {
	plan     Plan
	perModel time.Duration // one measurement's whole plan
	total    int           // measurements, less the models skipped

	first   time.Time       // the first measurement's first record
	started int             // measurements begun
	done    int             // measurements ended
	actual  time.Duration   // the ended measurements' time, summed
	cur     string          // the measurement running; "" between two
	curFrom time.Time       // its first record
	ended   map[string]bool // labels whose measurement ended

	st         State
	stepIdx    int // the step of the last sample (0-based)
	phaseStart time.Time
	lastTime   time.Time // the last sample of this measurement, for the connect rate
	lastOpen   int
	haveLast   bool
}

// NewTracker returns a tracker for a run of plan p.
func NewTracker(p Plan) *Tracker {
	t := &Tracker{plan: p, total: p.Measurements, ended: map[string]bool{}}
	for _, s := range p.Steps {
		t.perModel += s.Total()
	}
	return t
}

// Time is when a record was made: the tracker's only clock.
func Time(r results.Record) time.Time {
	switch {
	case r.Sample != nil:
		return r.Sample.Time
	case r.Step != nil:
		return r.Step.End
	case r.Event != nil:
		return r.Event.Time
	case r.Report != nil:
		return r.Report.Time
	}
	return time.Time{}
}

// Observe takes the next record of the run.
func (t *Tracker) Observe(label string, r results.Record) {
	if r.Event != nil && r.Event.Kind == model.EventSkipped {
		// Skipped before any model runs: the run is that much shorter.
		t.total = max(t.total-max(t.plan.PerModel, 1), t.started)
		return
	}
	if t.ended[label] {
		return
	}
	now := Time(r)
	if label != t.cur {
		if t.started == 0 {
			t.first = now
		}
		t.cur, t.curFrom = label, now
		t.started++
		t.haveLast = false
		t.st = State{Label: label, Phase: PhaseStarting}
		t.phaseStart = now
	}
	switch {
	case r.Event != nil:
		switch r.Event.Kind {
		case results.EventTeardown:
			t.setPhase(PhaseStopping, now)
		case results.EventEnded:
			t.done++
			t.actual += now.Sub(t.curFrom)
			t.ended[label] = true
			t.cur = ""
			t.st.Phase = ""
		}
	case r.Sample != nil:
		t.sample(r.Sample)
	}
}

func (t *Tracker) setPhase(phase string, now time.Time) {
	if t.st.Phase != phase {
		t.st.Phase, t.phaseStart = phase, now
	}
}

func (t *Tracker) sample(s *results.Sample) {
	if s.Phase != "" {
		if s.Step != t.stepIdx || s.Phase != t.st.Phase {
			// The sample closes the second it describes: the phase began
			// at the sample before.
			start := s.Time
			if t.haveLast {
				start = t.lastTime
			}
			t.st.Phase, t.stepIdx, t.phaseStart = s.Phase, s.Step, start
		}
		sw := s.Swarm
		t.st.Offered, t.st.Open, t.st.Sustained = s.Offered, sw.Open, sw.Sustained
		t.st.LagMs = sw.LagMaxMs
		t.st.Echoes, t.st.P99Ms = sw.Latency.Count, sw.Latency.P99
		t.st.Failures, t.st.ClientFailures = analysis.Total(sw.Failures), analysis.Total(sw.ClientFailures)
		t.st.HasRate = t.haveLast && s.Time.After(t.lastTime)
		if t.st.HasRate {
			t.st.Rate = float64(sw.Open-t.lastOpen) / s.Time.Sub(t.lastTime).Seconds()
		}
	}
	t.lastTime, t.lastOpen, t.haveLast = s.Time, s.Swarm.Open, true
}

// State is the status line's state at now (a record's time).
func (t *Tracker) State(now time.Time) State {
	s := t.st
	if s.Phase == "" {
		return s
	}
	s.PhaseFor = max(now.Sub(t.phaseStart), 0)
	s.Model, s.Models = t.started, t.total
	s.Steps = len(t.plan.Steps)
	if measuring(s.Phase) {
		s.Step = t.stepIdx + 1
	}
	s.Left = t.left(now)
	return s
}

// Ratio is how long the ended measurements took against their plan:
// their summed actual time over their summed estimate (1 before any
// ended). It takes in what the plan leaves out — a model's build-free
// start, conformance check, swarm start and teardown, and a model that
// stops at its first unsustained step — as the run has seen them so far.
// A ratio of sums rather than the mean of each model's ratio: every
// measurement has the same plan here, where the two agree, and the sum
// weighs a model by its planned time if that ever differs.
func (t *Tracker) Ratio() float64 {
	if t.done == 0 || t.perModel <= 0 {
		return 1
	}
	return float64(t.actual) / float64(time.Duration(t.done)*t.perModel)
}

// left estimates the run's time left at now: with a shared budget,
// what is left of it; else what the running
// measurement's plan still holds, from where it stands (its own
// position is known; whether it will stop early is not), plus the
// measurements not yet begun, each at its plan times the ratio the ended
// ones showed.
func (t *Tracker) left(now time.Time) time.Duration {
	if t.plan.Budget > 0 && !t.first.IsZero() {
		return max(time.Duration(t.total)*t.plan.Budget-now.Sub(t.first), 0)
	}
	var cur time.Duration
	if t.cur != "" {
		cur = t.currentLeft(now)
	}
	future := max(t.total-t.started, 0)
	return cur + time.Duration(t.Ratio()*float64(t.perModel)*float64(future))
}

// currentLeft is what the running measurement's plan still holds: the
// rest of the step's phase, the rest of the step, the steps after it. A
// step past the plan (a capacity search) is taken as the last planned
// step's settle and hold, its ramp unknown.
func (t *Tracker) currentLeft(now time.Time) time.Duration {
	steps := t.plan.Steps
	switch t.st.Phase {
	case PhaseStarting:
		return t.perModel
	case PhaseStopping:
		return 0
	}
	var st bench.StepTime
	switch i := t.stepIdx; {
	case i < len(steps):
		st = steps[i]
	case len(steps) > 0:
		st = bench.StepTime{Settle: steps[len(steps)-1].Settle, Hold: steps[len(steps)-1].Hold}
	}
	el := now.Sub(t.phaseStart)
	var d time.Duration
	switch t.st.Phase {
	case PhaseRamp:
		d = max(st.Ramp-el, 0) + st.Settle + st.Hold
	case PhaseSettle:
		d = max(st.Settle-el, 0) + st.Hold
	case PhaseWindow:
		d = max(st.Hold-el, 0)
	}
	for j := t.stepIdx + 1; j < len(steps); j++ {
		d += steps[j].Total()
	}
	return d
}
