package bench

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// c10klab is the runner binary built once for the tests: the swarm agents
// run as `c10klab agent`.
var c10klab string

// modelBins is where every test's run builds its models: one folder for
// the package, so that a model built by an earlier test is up to date for
// the next and `go build` does not link it again (about 1 s a model on 2
// cores, for some 30 builds).
var modelBins string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "c10klab-bench-test")
	if err != nil {
		panic(err)
	}
	c10klab = filepath.Join(dir, "c10klab")
	modelBins = filepath.Join(dir, "models")
	if err := os.Mkdir(modelBins, 0o755); err != nil {
		panic(err)
	}
	out, err := exec.Command("go", "build", "-o", c10klab, "c10klab/runner").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..")
}

func freePort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// testOptions runs small and fast: a few hundred connections, short holds.
// When the test ends, no process the run started may be left.
func testOptions(t *testing.T, modelsDir string, specs ...string) Options {
	t.Helper()
	opt := baseOptions(t, modelsDir, specs...)
	t.Cleanup(func() { noneLeft(t, opt.BinDir, filepath.Dir(c10klab)) })
	return opt
}

// parallelOptions is testOptions for a subtest that runs beside its
// siblings (it calls t.Parallel): runs of a few hundred connections that
// wait on the clock far more than they use a CPU (the diagnosis cases,
// 5-8 s each, used under a second of CPU). Its models build into a folder
// of its own, where what it leaves behind is checked when it ends; the
// agents, which every run starts from the one c10klab binary, are checked
// by the parent once all its subtests have ended (agentsLeftAfter).
func parallelOptions(t *testing.T, modelsDir string, specs ...string) Options {
	t.Helper()
	t.Parallel()
	opt := baseOptions(t, modelsDir, specs...)
	opt.BinDir = t.TempDir()
	t.Cleanup(func() { noneLeft(t, opt.BinDir) })
	return opt
}

// agentsLeftAfter checks, once t and every subtest of it have ended, that
// no process runs from the test's c10klab binary or its model builds.
func agentsLeftAfter(t *testing.T) {
	t.Cleanup(func() { noneLeft(t, filepath.Dir(c10klab)) })
}

func baseOptions(t *testing.T, modelsDir string, specs ...string) Options {
	t.Helper()
	opt := Defaults()
	root := moduleRoot(t)
	opt.ModuleRoot, opt.ModelsDir = root, modelsDir
	opt.BinDir, opt.ResultsDir = modelBins, t.TempDir()
	opt.Exe = c10klab
	opt.Addr = freePort(t)
	opt.Steps = []int{100, 300}
	// The planned steps only: the search has tests of its own.
	opt.Search = false
	opt.Hold = 2 * time.Second
	// A second, as by default: the swarm may fall a quarter of it behind
	// before a step is untrusted, which a busy machine needs.
	opt.Interval, opt.Deadline = time.Second, time.Second
	opt.ReadyTimeout = 3 * time.Second
	for _, s := range specs {
		sp, err := model.ParseSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		opt.Specs = append(opt.Specs, sp)
	}
	return opt
}

func realModels(t *testing.T) string { return filepath.Join(moduleRoot(t), "models") }
func testdataModels(t *testing.T) string {
	return filepath.Join(moduleRoot(t), "runner", "internal", "bench", "testdata", "models")
}

// noneLeft fails if any process runs a program from dirs: the run must
// stop every process it started.
func noneLeft(t *testing.T, dirs ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := running(dirs)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left behind: %v", left)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func running(dirs []string) []string {
	procs, _ := os.ReadDir("/proc")
	var left []string
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err != nil || p.Name() == "self" {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(exe, d+"/") {
				left = append(left, p.Name()+" "+exe)
			}
		}
	}
	return left
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestModelsSustainEveryOfferedConnection(t *testing.T) {
	opt := testOptions(t, realModels(t), "goroutine", "epoll")
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"goroutine", "epoll"} {
		steps := l.Steps(m)
		if len(steps) != len(opt.Steps) {
			t.Fatalf("%s: %d steps recorded, want %d", m, len(steps), len(opt.Steps))
		}
		for _, st := range steps {
			if st.Sustained != st.Offered || st.Open != st.Offered || !st.OK {
				t.Errorf("%s step %d: offered %d open %d sustained %d", m, st.Index, st.Offered, st.Open, st.Sustained)
			}
			if len(st.Failures)+len(st.ClientFailures) != 0 {
				t.Errorf("%s step %d: failures %v client %v", m, st.Index, st.Failures, st.ClientFailures)
			}
			if st.Echoes < int64(st.Offered) || st.Latency.Count == 0 {
				t.Errorf("%s step %d: %d echoes, latency count %d", m, st.Index, st.Echoes, st.Latency.Count)
			}
			// Echoes are timed by their kernel receive stamps; a few may
			// miss one while the kernel switches timestamping on.
			if st.Unstamped*100 > st.Echoes {
				t.Errorf("%s step %d: %d of %d echoes timed at read, not by their kernel stamp", m, st.Index, st.Unstamped, st.Echoes)
			}
			// The step's lag covers its worst second's (and the agents'
			// answers at the window's ends, which no sample holds).
			worst := 0.0
			// Each second is labelled with its phase, in the step's order
			// (the terminal's live line reads it): ramp, settle, window.
			order := map[string]int{"ramp": 1, "settle": 2, "window": 3}
			at := 0
			for _, smp := range l.Samples(m) {
				if smp.Step == st.Index {
					worst = max(worst, smp.Swarm.LagMaxMs)
					if o := order[smp.Phase]; o < at || o == 0 {
						t.Errorf("%s step %d: a sample in phase %q after phase %d", m, st.Index, smp.Phase, at)
					} else {
						at = o
					}
				}
			}
			if at != order["window"] {
				t.Errorf("%s step %d: no sample in the window", m, st.Index)
			}
			if st.LagMaxMs < worst {
				t.Errorf("%s step %d: lag %v ms, below its worst second's %v ms", m, st.Index, st.LagMaxMs, worst)
			}
		}
		s := l.Summaries[m]
		if s.Capacity != 300 || s.Stop != results.StopTarget {
			t.Errorf("%s summary: capacity %d stop %q", m, s.Capacity, s.Stop)
		}
		if s.CPUPer1kEchoes <= 0 || len(l.Samples(m)) == 0 {
			t.Errorf("%s: cpu/1k echoes %v, %d samples", m, s.CPUPer1kEchoes, len(l.Samples(m)))
		}
	}
}

func TestCappedModelReportedWithItsCapacity(t *testing.T) {
	const k = 60
	opt := testOptions(t, testdataModels(t), "acceptk")
	opt.ModelEnv = []string{"C10K_TEST_K=" + itoa(k)}
	opt.Steps = []int{40, 200}
	opt.Backlog = 16
	opt.Conformance = false // it caps its connections on purpose
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Summaries["acceptk"]
	// The readiness probe takes one of the K accepts.
	if s.Capacity < k-2 || s.Capacity > k {
		t.Fatalf("capacity %d, want %d±1 (one accept went to the readiness probe)", s.Capacity, k-1)
	}
	if s.Stop != results.StopNotSustained || s.FailedOffered != 200 {
		t.Fatalf("stop %q failed at %d, want not sustained at 200", s.Stop, s.FailedOffered)
	}
	steps := l.Steps("acceptk")
	last := steps[len(steps)-1]
	if len(last.ClientFailures) != 0 {
		t.Fatalf("blamed on the clients: %v", last.ClientFailures)
	}
	if last.Failures["deadline"] == 0 && last.Failures["connect:ETIMEDOUT"] == 0 {
		t.Fatalf("failures %v: want deadline or connect timeouts on the server side", last.Failures)
	}
	// This is also TestDiagnosisNamesProvokedFailure's case of a model that
	// never accepts past its backlog: one run of 15 s serves both.
	if !diagnosisHas(s.Diagnosis, "server: the model stopped accepting") || !strings.Contains(s.Diagnosis, "listen queue overflowed") {
		t.Errorf("diagnosis %q: want the connections the model never accepted, overflowing the listen queue", s.Diagnosis)
	}
}

func TestBadInput(t *testing.T) {
	agentsLeftAfter(t) // the broken models' cases run side by side
	t.Run("unknown model", func(t *testing.T) {
		opt := testOptions(t, realModels(t), "nosuchmodel")
		_, err := Run(context.Background(), opt)
		if err == nil || !strings.Contains(err.Error(), `unknown model "nosuchmodel"`) || !strings.Contains(err.Error(), "epoll") {
			t.Fatalf("err = %v, want unknown model naming the ones there are", err)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		opt := testOptions(t, realModels(t), "epoll")
		ln, err := net.Listen("tcp4", opt.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, err = Run(context.Background(), opt)
		if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "pid "+itoa(os.Getpid())) {
			t.Fatalf("err = %v, want port in use naming this process", err)
		}
	})
	for _, tc := range []struct {
		model, want string
		stop        results.Stop
		runErr      bool // a model that cannot run fails the run; one refused is a finding
	}{
		{"crash", "exit status 3", results.StopError, true},
		{"noaccept", "does not accept() or does not echo", results.StopError, true},
		{"truncate", "refused to benchmark: conformance check failed: burst", results.StopRefused, false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			opt := parallelOptions(t, testdataModels(t), tc.model, "acceptk")
			// The broken model never gets to a step, and the next needs only
			// to be measured: one step it holds, with a K the quick
			// conformance check does not use up (at its default of 50 the
			// step failed and waited out its settle: 8 s, not 5).
			opt.Steps = []int{20}
			opt.ModelEnv = []string{"C10K_TEST_K=1000"}
			dir, err := Run(context.Background(), opt)
			if tc.runErr && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if !tc.runErr && err != nil {
				t.Fatalf("err = %v: a refused model is a finding, not a failure of the run", err)
			}
			l, lerr := results.Load(dir)
			if lerr != nil {
				t.Fatal(lerr)
			}
			s, ok := l.Summaries[tc.model]
			if !ok || s.Stop != tc.stop || !strings.Contains(s.Diagnosis, tc.want) {
				t.Fatalf("summary %+v: want stop %q with the cause", s, tc.stop)
			}
			// The broken model does not cost the others their measurement.
			if _, ok := l.Summaries["acceptk"]; !ok {
				t.Fatalf("the next model was not measured")
			}
		})
	}
}
