package analysis

import (
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

func TestJudgeNeverSustainsWhatItsOwnFiguresDeny(t *testing.T) {
	cfg := results.Config{Messages: results.Messages{Deadline: time.Second, Interval: time.Second}, Judging: results.Judging{SustainRatio: 0.95}}
	good := func() results.Step {
		return results.Step{
			StepTiming: results.StepTiming{Latency: results.Percentiles{Count: 5000, P50: 0.4, P99: 3}},
			Offered:    1000,
			Open:       1000,
			Sustained:  1000,
			Window:     true,
		}
	}
	tests := []struct {
		name   string
		change func(*results.Step)
		ok     bool
		why    string
	}{
		{"served through the window", func(*results.Step) {}, true, ""},
		{"95% is enough", func(s *results.Step) { s.Sustained = 950 }, true, ""},
		{"94.9% is not", func(s *results.Step) { s.Sustained = 949 }, false, results.WhyTooFew},
		// The case of issue 9: every connection counted, p99 nine times the deadline.
		{"p99 past the deadline", func(s *results.Step) { s.Latency.P99 = 9191 }, false, results.WhyLatency},
		{"no echo came back", func(s *results.Step) { s.Latency = results.Percentiles{} }, false, results.WhyNoEcho},
		{"cut short", func(s *results.Step) { s.Cut = true }, false, results.WhyCut},
		{"judged at its last instant only", func(s *results.Step) { s.Window = false }, false, results.WhyNoWindow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := good()
			tc.change(&st)
			Judge(&st, cfg)
			if st.OK != tc.ok || st.Why != tc.why {
				t.Fatalf("ok %v why %q, want %v %q", st.OK, st.Why, tc.ok, tc.why)
			}
			again := st
			Judge(&again, cfg)
			if again.OK != st.OK || again.Why != st.Why || again.Untrusted != st.Untrusted {
				t.Fatalf("judging twice changed the verdict: %+v then %+v", st, again)
			}
		})
	}
}

func TestJudgeTrust(t *testing.T) {
	cfg := results.Config{Messages: results.Messages{Deadline: time.Second, Interval: time.Second}, Instances: results.Instances{SwarmCPUs: []int{1}, ModelCPUs: []int{0}}, Judging: results.Judging{SustainRatio: 0.95}}
	failed := results.Step{StepTiming: results.StepTiming{Latency: results.Percentiles{Count: 10, P99: 1}}, Offered: 1000, Sustained: 500, Window: true}
	with := func(f func(*results.Step)) results.Step { s := failed; f(&s); return s }
	tests := []struct {
		name string
		st   results.Step
		by   results.Mechanism
	}{
		{"trusted", with(func(s *results.Step) { s.LagMaxMs, s.HoldSeconds, s.AgentsCPU = 10, 5, 1 }), ""},
		{"the swarm's own descriptors", with(func(s *results.Step) { s.ClientFailures = map[string]int64{"socket:EMFILE": 3} }), results.MechSwarm},
		{"the swarm behind schedule", with(func(s *results.Step) { s.LagMaxMs = 554 }), results.MechSwarmLag},
		{"a lag it can absorb", with(func(s *results.Step) { s.LagMaxMs = 254 }), ""},
		// 1,000 connections over 5 s at one message a second: 5,000 due.
		{"late, but the echoes came", with(func(s *results.Step) { s.LagMaxMs, s.Open, s.HoldSeconds, s.Echoes = 554, 1000, 5, 4000 }), results.MechSwarmLag},
		{"late, and the model silent", with(func(s *results.Step) { s.LagMaxMs, s.Open, s.HoldSeconds, s.Echoes = 554, 1000, 5, 40 }), ""},
		{"late, and the model later still", with(func(s *results.Step) {
			s.LagMaxMs, s.Open, s.HoldSeconds, s.Echoes, s.Latency.P99 = 927, 1000, 5, 4000, 20627
		}), ""},
		{"late, the p99 within the lag", with(func(s *results.Step) {
			s.LagMaxMs, s.Open, s.HoldSeconds, s.Echoes, s.Latency.P99 = 927, 1000, 5, 4000, 1800
		}), results.MechSwarmLag},
		{"the swarm's CPU", with(func(s *results.Step) { s.HoldSeconds, s.AgentsCPU = 5, 4.8 }), results.MechSwarmCPU},
		{"ramps held back, not all tried", with(func(s *results.Step) { s.Open, s.Unattempted, s.RampPauses = 700, 300, 40 }), results.MechSwarmCPU},
		{"ramps held back, all tried, some refused", with(func(s *results.Step) { s.Open, s.RampPauses = 700, 40 }), ""},
		{"not all tried, no ramp held back", with(func(s *results.Step) { s.Open, s.Unattempted = 700, 300 }), ""},
		// A sustained step stands: a struggling swarm only makes a model look worse.
		{"sustained despite the swarm", with(func(s *results.Step) { s.Sustained, s.LagMaxMs = 1000, 900 }), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			Judge(&st, cfg)
			if st.UntrustedBy != tc.by || (tc.by == "") != (st.Untrusted == "") {
				t.Fatalf("untrusted by %q (%q), want %q", st.UntrustedBy, st.Untrusted, tc.by)
			}
		})
	}
}

// Capacity comes from trusted, sustained steps only; a run the swarm
// ended says "at least".
func TestSummarizeCapacityFromTrustedStepsOnly(t *testing.T) {
	run := &results.Run{Format: results.FormatAnalysis, Config: results.Config{Messages: results.Messages{Deadline: time.Second}, Judging: results.Judging{SustainRatio: 0.95}}}
	step := func(i, offered, sustained int, lag float64) results.Record {
		return results.Record{Type: results.TypeStep, Step: &results.Step{
			StepTiming: results.StepTiming{Latency: results.Percentiles{Count: 10, P99: 2}},
			StepTrust:  results.StepTrust{LagMaxMs: lag},
			Index:      i,
			Offered:    offered,
			Open:       offered,
			Sustained:  sustained,
			Window:     true,
		}}
	}
	end := func(stop results.Stop) results.Record {
		return results.Record{Type: results.TypeEvent, Event: &results.Event{Kind: results.EventEnded, Stop: stop}}
	}
	s := Summarize(run, "m", []results.Record{step(0, 1000, 1000, 1), step(1, 5000, 3000, 600), end(results.StopSwarm)})
	if s.Capacity != 1000 || !s.AtLeast {
		t.Fatalf("capacity %d at least %v, want 1000 and at least (the 5000-step was untrusted)", s.Capacity, s.AtLeast)
	}
	if s.FailedOffered != 0 {
		t.Fatalf("failed at %d: an untrusted step is not the model's failure", s.FailedOffered)
	}
	// A failed step whose 2,000 sustained connections were served on time
	// sets the capacity; one whose p99 is past the deadline does not.
	s = Summarize(run, "m", []results.Record{step(0, 1000, 1000, 1), step(1, 5000, 2000, 1), end(results.StopNotSustained)})
	if s.Capacity != 2000 || s.AtLeast || s.FailedOffered != 5000 {
		t.Fatalf("capacity %d at least %v failed at %d, want 2000, false, 5000", s.Capacity, s.AtLeast, s.FailedOffered)
	}
	// An erratic model whose larger step sustained more than a smaller
	// one failed at: the capacity never reads above the bracket's failure.
	s = Summarize(run, "m", []results.Record{step(0, 250, 193, 1), step(1, 130, 130, 1), step(2, 190, 170, 1),
		step(3, 160, 160, 1), step(4, 175, 160, 1), end(results.StopNotSustained)})
	if s.Capacity != 160 || s.BracketFailed != 175 {
		t.Fatalf("capacity %d, bracket failed %d, want 160 sustained, 175 failed", s.Capacity, s.BracketFailed)
	}
	slow := step(1, 5000, 4000, 1)
	slow.Step.Latency.P99 = 9191
	s = Summarize(run, "m", []results.Record{step(0, 1000, 1000, 1), slow, end(results.StopNotSustained)})
	if s.Capacity != 1000 || s.Latency.P99 > 1000 {
		t.Fatalf("capacity %d at p99 %v ms, want 1000 within the deadline", s.Capacity, s.Latency.P99)
	}
}

// A step cut short by Ctrl-C is not the model failing.
func TestSummarizeInterruptIsNotAFailure(t *testing.T) {
	run := &results.Run{Format: results.FormatAnalysis, Config: results.Config{Messages: results.Messages{Deadline: time.Second}, Judging: results.Judging{SustainRatio: 0.95}}}
	recs := []results.Record{
		{Type: results.TypeStep, Step: &results.Step{Index: 0, Offered: 500, Open: 500, Sustained: 500, Cut: true}},
		{Type: results.TypeEvent, Event: &results.Event{Kind: results.EventEnded, Stop: results.StopInterrupted}},
	}
	s := Summarize(run, "m", recs)
	if s.FailedOffered != 0 || s.Cause.Side != results.SideRunner || s.Cause.Mechanism != results.MechInterrupted {
		t.Fatalf("failed at %d, cause %+v: %s", s.FailedOffered, s.Cause, s.Diagnosis)
	}
}

// Reports the model makes once the swarm starts closing are not its
// failures.
func TestSplitDropsReportsAfterTeardown(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := []results.Record{
		{Type: results.TypeReport, Report: &results.ServerReport{Time: t0, Kind: "accept", Errno: "EMFILE", Count: 1}},
		{Type: results.TypeEvent, Event: &results.Event{Time: t0.Add(time.Second), Kind: results.EventTeardown}},
		{Type: results.TypeReport, Report: &results.ServerReport{Time: t0.Add(2 * time.Second), Kind: "read", Errno: "ECONNRESET", Count: 900}},
	}
	m := Split("m", recs, results.Config{}, true)
	if len(m.Reports) != 1 || m.Reports[0].Errno != "EMFILE" {
		t.Fatalf("reports %+v, want only the one before the teardown", m.Reports)
	}
}

func TestKernelMemoryBelowResolutionIsNoFigure(t *testing.T) {
	w := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	st := results.Step{StepCost: results.StepCost{KernelMem: 3 << 20}, Index: 1, Sustained: 1000, WindowStart: w, End: w.Add(3 * time.Second)}
	sample := func(sec int, mem int64) results.Sample {
		return results.Sample{Step: 1, Time: w.Add(time.Duration(sec) * time.Second), System: results.System{TCPMem: mem}}
	}
	quiet := []results.Sample{sample(1, 100<<20), sample(2, 100<<20+4096)}
	if v, ok := KernelMemPerConn(st, quiet); !ok || v != float64(3<<20)/1000 {
		t.Fatalf("quiet counters: %v %v, want the figure", v, ok)
	}
	noisy := []results.Sample{sample(1, 100<<20), sample(2, 101<<20)}
	if _, ok := KernelMemPerConn(st, noisy); ok {
		t.Fatal("a 3 MiB rise against a 1 MiB swing was given as a figure")
	}
	st.KernelMem = -16 << 10
	if _, ok := KernelMemPerConn(st, quiet); ok {
		t.Fatal("negative kernel memory was given as a figure")
	}
	st.KernelMem = 512 << 10
	if _, ok := KernelMemPerConn(st, quiet); ok {
		t.Fatal("a rise below 1 MiB was given as a figure")
	}
}
