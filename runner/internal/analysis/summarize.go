package analysis

import (
	"fmt"
	"math"
	"slices"
	"time"

	"c10klab/runner/internal/diagnose"
	"c10klab/runner/internal/results"
)

// Model is one model's records, split by kind, as the analysis reads them.
type Model struct {
	Label   string
	Steps   []results.Step
	Samples []results.Sample
	Reports []results.ServerReport // up to the teardown: the model's doing
	Events  []results.Event
	// Teardown is when the swarm began closing its connections (zero: it
	// never did, or the folder predates the event).
	Teardown time.Time
	// End is the measure_end event; nil when the run died first.
	End *results.Event
	// Exit is the model's exit, when it exited by itself.
	Exit *results.Exit
	// Guard is the guard's trip, when it stopped the model.
	Guard *results.Event
	// Instances started, from the model_started event (0: not recorded).
	Instances int
}

// Split sorts a model's records into a Model, judging each step again
// with cfg so that the verdicts are the analysis's own.
func Split(label string, recs []results.Record, cfg results.Config, judge bool) Model {
	m := Model{Label: label}
	var reports []results.ServerReport
	// restarts are the spans from a restart to the model's next readiness:
	// what it reports then answers its own stop, not load.
	var restarts [][2]time.Time
	for _, r := range recs {
		switch {
		case r.Step != nil:
			st := *r.Step
			if judge {
				Judge(&st, cfg)
			}
			m.Steps = append(m.Steps, st)
		case r.Sample != nil:
			m.Samples = append(m.Samples, *r.Sample)
		case r.Report != nil:
			reports = append(reports, *r.Report)
		case r.Event != nil:
			e := *r.Event
			m.Events = append(m.Events, e)
			switch e.Kind {
			case results.EventTeardown:
				if m.Teardown.IsZero() {
					m.Teardown = e.Time
				}
			case results.EventRestart:
				restarts = append(restarts, [2]time.Time{e.Time, {}})
			case results.EventReady:
				if n := len(restarts); n > 0 && restarts[n-1][1].IsZero() {
					restarts[n-1][1] = e.Time
				}
			case results.EventEnded:
				m.End = &e
			case results.EventExited:
				if e.Exit != nil && m.Exit == nil {
					m.Exit = e.Exit
				}
			case results.EventGuard:
				if m.Guard == nil {
					m.Guard = &e
				}
			case results.EventStarted:
				m.Instances = max(m.Instances, e.Instances)
			}
		}
	}
	for _, r := range reports {
		// What the model reports once the swarm closes its connections
		// (resets, EOFs) answers the teardown, not the load.
		restarting := slices.ContainsFunc(restarts, func(span [2]time.Time) bool {
			return !r.Time.Before(span[0]) && (span[1].IsZero() || r.Time.Before(span[1]))
		})
		if (m.Teardown.IsZero() || r.Time.Before(m.Teardown)) && !restarting {
			m.Reports = append(m.Reports, r)
		}
	}
	return m
}

// Summarize condenses a model's records into its summary: capacity from
// trusted steps only, costs and latency from the capacity step, and the
// diagnosis. The run calls it when a model is done and `c10klab plot`
// calls it on the saved records, with the same answer.
func Summarize(run *results.Run, label string, recs []results.Record) results.Summary {
	// Steps of an older folder were judged by their last instant, with
	// inputs run.json lacks: their recorded verdicts stand.
	m := Split(label, recs, run.Config, run.Format >= results.FormatAnalysis)
	s := results.Summary{Model: label, Instances: m.Instances}
	stop, detail := endOf(m)
	s.Stop = stop
	// The capacity step sustained the most connections of the trusted
	// steps that offered no more than the bracket's failed count: a
	// failed step's count still stands (a server that serves 40 on time
	// and leaves the rest in its listen queue: 40), but never one offered
	// above a smaller failure ("193 sustained, 175 failed", an erratic
	// model's larger step, read as a capacity above a count that failed).
	bracket := BracketOf(m.Steps, stop)
	capStep := -1
	for i, st := range m.Steps {
		if CountsForCapacity(st, run) && (bracket.Failed == 0 || st.Offered <= bracket.Failed) &&
			(capStep < 0 || st.Sustained > m.Steps[capStep].Sustained) {
			capStep = i
		}
		s.PeakProcs = max(s.PeakProcs, st.Model.Procs)
		s.PeakThreads = max(s.PeakThreads, st.Model.Threads)
		if !st.OK && s.FailedOffered == 0 && st.Hostile == nil && ModelFailed(st, stop) {
			s.FailedOffered = st.Offered
		}
		if !Trusted(st) {
			s.Untrusted = append(s.Untrusted, fmt.Sprintf("step %d (%d offered): %s", st.Index, st.Offered, st.Untrusted))
		}
	}
	for _, sm := range m.Samples {
		s.PeakProcs = max(s.PeakProcs, sm.Model.Procs)
		s.PeakThreads = max(s.PeakThreads, sm.Model.Threads)
	}
	if s.FailedOffered == 0 && (stop == results.StopExited || stop == results.StopGuard) && len(m.Samples) > 0 {
		// An older folder has no record of the step the model died in;
		// its samples say what was offered then.
		s.FailedOffered = m.Samples[len(m.Samples)-1].Offered
	}
	// The swarm, not the model, ended the measurement: the model held at
	// least what it sustained in trusted steps.
	s.AtLeast = stop == results.StopSwarm
	// The bracket, from the steps; how the search ended, as the runner
	// recorded it (the budget and the machine's limits are not in the
	// steps).
	s.BracketFailed = bracket.Failed
	if m.End != nil {
		s.Search, s.SearchDetail = m.End.Search, m.End.SearchDetail
	}
	if capStep >= 0 {
		b := m.Steps[capStep]
		s.Capacity, s.CapacityOffered, s.Latency, s.SettleSeconds = b.Sustained, b.Offered, b.Latency, b.SettleSeconds
		if v, ok := UserMemPerConn(b); ok {
			s.UserMemPerConn = v
		}
		if v, ok := KernelMemPerConn(b, m.Samples); ok {
			s.KernelMemPerConn, s.KernelMemResolved = v, true
		}
		s.CPUPer1kEchoes, _ = CPUPer1kEchoes(b)
	}
	d := diagnose.Diagnose(diagnose.Input{
		Model: label, Instances: m.Instances, Steps: m.Steps, Samples: m.Samples, Reports: m.Reports, Events: m.Events,
		Stop: stop, StopDetail: detail, Exit: m.Exit, Guard: m.Guard, Config: run.Config, Env: run.Env,
		Capacity: s.Capacity, Work: workOf(label), Search: s.Search, SearchDetail: s.SearchDetail,
	})
	s.Diagnosis, s.Warnings = d.Sentence, d.Warnings
	s.Hostile = HostileEffects(m, stop, run.Config)
	for _, e := range s.Hostile {
		if e.Failed != "" {
			s.Warnings = append(s.Warnings, fmt.Sprintf("hostile %s clients (%d beside %d well-behaved): %s", e.Kind, e.Hostile, e.Offered, e.Failed))
		}
	}
	cause := d.Cause
	s.Cause = &cause
	return s
}

// CountsForCapacity reports whether a step's sustained connections can be
// a capacity: the swarm could be trusted, the window ran to its end, and
// its p99 is within the deadline. A step that failed can still count: a
// server that serves 40 connections on time and leaves the rest in its
// listen queue has a capacity of 40. (An older folder's steps count when
// they were sustained, as they were judged then.)
func CountsForCapacity(st results.Step, run *results.Run) bool {
	if !Trusted(st) || st.Cut || st.Hostile != nil {
		return false
	}
	if run.Format < results.FormatAnalysis {
		return st.OK
	}
	deadlineMs := float64(run.Config.Deadline) / float64(time.Millisecond)
	return st.Window && st.Sustained > 0 && st.Latency.Count > 0 && (run.Config.Deadline <= 0 || st.Latency.P99 <= deadlineMs)
}

// ModelFailed reports whether a step that is not OK counts against the
// model: a cut step does only when the model itself ended it (it exited or
// the guard stopped it), and an untrusted step never does.
func ModelFailed(st results.Step, stop results.Stop) bool {
	if st.OK || !Trusted(st) {
		return false
	}
	if st.Cut {
		return stop == results.StopExited || stop == results.StopGuard
	}
	return true
}

// kernelMemFloor is the least rise of the system-wide counters that a
// kernel memory figure is drawn from: below it, other activity on the
// machine moves them as much as the connections do.
const kernelMemFloor = 1 << 20

// KernelMemPerConn is kernel socket memory above baseline per sustained
// connection, in bytes, when it can be told from noise: the rise must be
// above 1 MiB and four times the counters' own swing over the step's
// window, where the connections held still. ok is false otherwise.
func KernelMemPerConn(s results.Step, samples []results.Sample) (bytes float64, ok bool) {
	if s.Sustained <= 0 || s.KernelMem <= 0 {
		return 0, false
	}
	if float64(s.KernelMem) < max(kernelMemFloor, 4*float64(kernelMemSwing(s, samples))) {
		return 0, false
	}
	return float64(s.KernelMem) / float64(s.Sustained), true
}

// kernelMemSwing is how far the kernel memory counters moved during the
// step's window, while the connections held still.
func kernelMemSwing(s results.Step, samples []results.Sample) int64 {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sm := range samples {
		if sm.Step != s.Index || s.WindowStart.IsZero() || sm.Time.Before(s.WindowStart) || sm.Time.After(s.End) {
			continue
		}
		v := sm.System.TCPMem + sm.System.SUnreclaim
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi < lo {
		return 0
	}
	return hi - lo
}

// endOf is why measuring the model ended: its measure_end event, else, for
// a run that died, the event that ended it abnormally ("" when none did).
func endOf(m Model) (stop results.Stop, detail string) {
	if m.End != nil {
		return m.End.Stop, m.End.Detail
	}
	for _, e := range m.Events {
		switch e.Kind {
		case results.EventExited:
			return results.StopExited, e.Msg
		case results.EventGuard:
			return results.StopGuard, e.Msg
		case results.EventInterrupted:
			return results.StopInterrupted, e.Msg
		}
	}
	return "", ""
}

// workOf is the work a measurement's label names (epoll@cpu=200us.r2).
func workOf(label string) string {
	base, _ := BaseLabel(label)
	_, w := results.SplitWork(base)
	return w
}
