package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/results"
)

// Each case provokes one failure on purpose, through the whole runner,
// and checks that the diagnosis names it and blames the right side.
func TestDiagnosisNamesProvokedFailure(t *testing.T) {
	needGuard := func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root for cgroups")
		}
		if err := guard.Supported(); err != nil {
			t.Skipf("no cgroup v1: %v", err)
		}
	}
	tests := []struct {
		name  string
		dir   func(*testing.T) string
		model string
		setup func(*testing.T, *Options)
		stop  results.Stop
		want  []string
	}{
		{
			name: "listen backlog overflows", dir: realModels, model: "forked:seed",
			setup: func(t *testing.T, o *Options) { o.Steps = []int{20, 100}; o.Conformance = false },
			stop:  results.StopNotSustained,
			want:  []string{"server:", "cap of 40 children", "listen queue overflowed"},
		},
		{
			name: "open-files limit of the model", dir: realModels, model: "epoll",
			// One step past the limit: a step below it would add 4 s and
			// nothing the diagnosis reads.
			setup: func(t *testing.T, o *Options) { o.Steps = []int{400}; o.ModelNoFile = 200; o.Procs = 1 },
			stop:  results.StopNotSustained,
			want:  []string{"server: accept() failed with EMFILE", "open-files limit 200"},
		},
		{
			name: "process limit (cgroup pids)", dir: realModels, model: "forked",
			setup: func(t *testing.T, o *Options) {
				needGuard(t)
				o.Steps = []int{20, 200}
				o.PidsLimit = 150 // a forked child is one task: ~149 children
				o.Conformance = false
			},
			stop: results.StopGuard,
			want: []string{"resource guard", "pids limit 150", "refused"},
		},
		{
			name: "memory guard", dir: realModels, model: "forked-reexec",
			setup: func(t *testing.T, o *Options) {
				needGuard(t)
				o.Steps = []int{20, 300}
				o.MemLimit = 96 << 20 // a forked-reexec child is ~0.7 MiB: ~100 children
				o.Conformance = false
			},
			stop: results.StopGuard,
			want: []string{"resource guard", "memory limit 96 MiB", "OOM-killed"},
		},
		{
			name: "model resets connections", dir: testdataModels, model: "rst",
			// It breaks the contract on purpose: skip the check that would
			// refuse it.
			setup: func(t *testing.T, o *Options) { o.Steps = []int{100}; o.Conformance = false },
			stop:  results.StopNotSustained,
			want:  []string{"server: the server resets connections", "read:ECONNRESET"},
		},
		// A cap of live connections, past which connections are closed
		// right after they are accepted, is measured in
		// TestAnalysisRecomputesWhatTheRunWrote's run, which checks its
		// diagnosis too.
		{
			// Silent from 1.5 s on while holding every socket: the window
			// of the first step sees no echo, or too few. A miss shows a
			// deadline after the message, so the window must end a deadline
			// past the silence however soon it starts: a step settles the
			// moment its swarm is served, and a window of 2 s that opened
			// 0.5 s after the model started ended before the misses of the
			// messages sent into the silence were due.
			name: "goes silent while holding its sockets", dir: testdataModels, model: "silent",
			setup: func(t *testing.T, o *Options) {
				o.ModelEnv = []string{"C10K_TEST_SILENT_AFTER=1500ms"}
				o.Steps = []int{200, 400}
				o.Hold = 4 * time.Second
				o.Conformance = false
			},
			stop: results.StopNotSustained,
			// "holds 200 sockets", or 199: the count is the model's
			// descriptors above idle, and the first sample, the idle one,
			// can still see the readiness probe's connection.
			want: []string{"server: the model holds ", " sockets but stopped echoing", "echoes due in the window came back", "at 200 offered"},
		},
		// A model that accepts K and then never again, its listen queue
		// overflowing, is TestCappedModelReportedWithItsCapacity's run:
		// it checks this diagnosis too.
		{
			// Every echo comes back, 1.5 s after its message: measured,
			// not refused at readiness, and named with how late.
			name: "echoes every message late", dir: testdataModels, model: "late",
			setup: func(t *testing.T, o *Options) {
				o.ModelEnv = []string{"C10K_TEST_LATE=1500ms"}
				o.Steps = []int{50}
				o.SettleMax = time.Second // it never settles: no need to wait
				o.Conformance = false
			},
			stop: results.StopNotSustained,
			want: []string{"server: every echo came back, but late: p50 1.5", "against a deadline of 1.00 s"},
		},
		{
			// A pool of 100 workers, each on one connection: 100 served,
			// the rest held and never read.
			name: "serves a pool of connections", dir: testdataModels, model: "pool",
			setup: func(t *testing.T, o *Options) {
				o.ModelEnv = []string{"C10K_TEST_K=100"}
				o.Steps = []int{150} // one step past the pool is all the diagnosis reads
				o.SettleMax = time.Second
				o.Conformance = false
			},
			stop: results.StopNotSustained,
			want: []string{"server: the model serves about 100 of the 150 connections it holds: a pool or cap of 100"},
		},
		{
			// A Python server that dies of its own EMFILE: its traceback's
			// last line leads, with the limit it names.
			name: "crashes with its own exception", dir: testdataModels, model: "crashk",
			setup: func(t *testing.T, o *Options) {
				o.Steps = []int{40, 200}
				o.ModelNoFile = 120
				o.Procs = 1
				o.Conformance = false
			},
			stop: results.StopExited,
			// It dies in accept() or in open(), whichever meets the limit.
			want: []string{"server: the model crashed (exit status 1)", "OSError: [Errno 24] Too many open files", "— the open-files limit, 120 per process"},
		},
		{
			name: "swarm agent starved of descriptors", dir: realModels, model: "epoll",
			setup: func(t *testing.T, o *Options) { o.Steps = []int{300}; o.AgentNoFile = 150 },
			stop:  results.StopSwarm,
			want:  []string{"swarm:", "EMFILE", "not the model"},
		},
	}
	// The cases run side by side (two at a time, go test's -parallel):
	// each is a few hundred connections, which wait on the clock (a
	// settle, a 2 s window, a 1.5 s late echo) far more than they use a
	// CPU; one after another they took 68 s of make test (20261203).
	agentsLeftAfter(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := parallelOptions(t, tc.dir(t), tc.model)
			tc.setup(t, &opt)
			dir, err := Run(context.Background(), opt)
			if err != nil && !strings.Contains(string(tc.stop), "guard") {
				t.Logf("run: %v", err)
			}
			l, lerr := results.Load(dir)
			if lerr != nil {
				t.Fatal(lerr)
			}
			label := opt.Specs[0].Label()
			s, ok := l.Summaries[label]
			if !ok {
				t.Fatalf("no summary for %s", label)
			}
			t.Logf("diagnosis: %s", s.Diagnosis)
			if s.Stop != tc.stop {
				t.Errorf("stop %q, want %q (diagnosis: %s)", s.Stop, tc.stop, s.Diagnosis)
			}
			for _, w := range tc.want {
				if !diagnosisHas(s.Diagnosis, w) {
					t.Errorf("diagnosis %q lacks %q", s.Diagnosis, w)
				}
			}
			if t.Failed() {
				for _, st := range l.Steps(label) {
					t.Logf("step %d: offered %d open %d sustained %d echoes %d window %.1f s fds %d failures %v counters %v",
						st.Index, st.Offered, st.Open, st.Sustained, st.Echoes, st.HoldSeconds, st.Model.FDs, st.Failures, st.Counters)
				}
			}
		})
	}
}

// diagnosisHas reports whether the diagnosis says want. A server verdict
// ("server: ...") may also come as the machine's ("machine limit: ...",
// the model's mechanism after it) when unrelated work took the model's
// CPU during the step: the diagnosis' own rule (README, "When the machine
// is the limit"), which a busy test machine can meet; the mechanism must
// be named either way.
func diagnosisHas(diagnosis, want string) bool {
	if strings.Contains(diagnosis, want) {
		return true
	}
	mech, server := strings.CutPrefix(want, "server: ")
	return server && strings.HasPrefix(diagnosis, "machine limit: ") && strings.Contains(diagnosis, mech)
}
