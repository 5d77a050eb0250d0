package diagnose

import (
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// The work a model was given names the limit when the figures show it
// was: a blocking handler with its CPU idle, a CPU-bound one with its CPU
// full; a wait, or figures that point elsewhere, leave the diagnosis as it
// was.
func TestDiagnoseWork(t *testing.T) {
	cfg := results.Config{Messages: results.Messages{Interval: time.Second}, Instances: results.Instances{ModelCPUs: []int{0}}, Judging: results.Judging{SustainRatio: 0.95}}
	env := results.Environment{CPUs: 2}
	ok := results.Step{Offered: 100, Open: 100, Sustained: 100, OK: true, Window: true}
	// At a message a second, as many echoes are due a second as there are
	// connections.
	// The model holds every socket the clients opened (it accepts) and
	// echoes only some of what is due.
	slow := func(conns int, echoes int64, cpuSeconds float64) results.Step {
		return results.Step{
			StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 3000}},
			StepTiming:   results.StepTiming{Settled: true, Latency: results.Percentiles{Count: echoes, P50: 900, P99: 4000}},
			StepCost:     results.StepCost{HoldSeconds: 4, Echoes: echoes, Model: results.ProcDelta{CPUUser: cpuSeconds, FDs: conns + 8}},
			Index:        1,
			Offered:      conns,
			Open:         conns,
			Sustained:    150,
			Window:       true,
		}
	}
	for _, c := range []struct {
		name, work string
		step       results.Step
		mech       results.Mechanism
		want       []string
	}{
		{"blocking handler, CPU idle", "block=5ms", slow(1000, 800, 0.2), results.MechBlockingWork,
			[]string{"server: the handler blocks 5ms per message: at most ~200 messages a second on each thread it blocks", "200 a second of the 1,000 due", "CPU 5% busy"}},
		{"CPU-bound handler, CPU full", "cpu=200us", slow(10000, 19600, 3.92), results.MechCPU,
			[]string{"each message costs 200µs of CPU: at most ~5,000 messages a second on 1 CPU", "4,900 a second of the 10,000 due", "saturated"}},
		{"a non-blocking wait is no limit by itself", "wait=50ms", slow(1000, 800, 0.2), results.MechSilent, nil},
		{"no work", "", slow(1000, 800, 0.2), results.MechSilent, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Diagnose(Input{Model: "py-asyncio", Work: c.work, Config: cfg, Env: env, Stop: results.StopNotSustained,
				Steps: []results.Step{ok, c.step}})
			if d.Cause.Mechanism != c.mech {
				t.Errorf("mechanism %q, want %q: %s", d.Cause.Mechanism, c.mech, d.Sentence)
			}
			for _, w := range c.want {
				if !strings.Contains(d.Sentence, w) {
					t.Errorf("sentence lacks %q:\n%s", w, d.Sentence)
				}
			}
			if c.want == nil && strings.Contains(d.Sentence, "per message") {
				t.Errorf("work named where it was not the limit:\n%s", d.Sentence)
			}
		})
	}
}

func TestCrashLine(t *testing.T) {
	for _, c := range []struct{ stderr, want string }{
		{"Traceback (most recent call last): |   File \"server.py\", line 29, in <module> |   File \"/usr/lib/python3.11/socket.py\", line 294, in accept | OSError: [Errno 24] Too many open files",
			"OSError: [Errno 24] Too many open files"},
		{"Traceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: can't start new thread\n", "RuntimeError: can't start new thread"},
		{"panic: runtime error: index out of range [3] with length 3 | | goroutine 1 [running]: | main.main()", "panic: runtime error: index out of range [3] with length 3"},
		{"runtime: failed to create new OS thread | fatal error: newosproc", "fatal error: newosproc"},
		{"cannot start: bad config", ""},
		{"", ""},
	} {
		if got := crashLine(c.stderr); got != c.want {
			t.Errorf("crashLine(%q) = %q, want %q", c.stderr, got, c.want)
		}
	}
}
