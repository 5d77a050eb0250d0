package modeltest_test

// The Python models' work per request (C10K_WORK), run from Go so that
// `go test ./models/...` and `make test` run it: _pykit's unit tests, the
// startup error every Python model gives for a malformed C10K_WORK or
// C10K_SIZE, and models/_pykit/worktest.py's cases over loopback (which
// say what each case checks). The conformance suite checks the contract's
// side of the work for every model; these check what is particular to the
// Python models: their framing, a half-close with a request in its wait,
// and where a blocking call stalls the others and where a remedy preset
// keeps it from doing so.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// pyModels are the Python models, each with the module it needs beyond the
// standard library ("" for none), and the worktest.py cases it runs.
var pyModels = []struct {
	name, module string
	cases        []string
}{
	{"py-asyncio", "", []string{"py-asyncio/wait", "py-asyncio/block", "py-asyncio:executor/block", "py-asyncio:streams/wait"}},
	{"py-uvloop", "uvloop", []string{"py-uvloop/wait", "py-uvloop/block", "py-uvloop:executor/block"}},
	{"py-gevent", "gevent", []string{"py-gevent/wait", "py-gevent/block", "py-gevent:patched/block"}},
	{"py-eventlet", "eventlet", []string{"py-eventlet/wait", "py-eventlet/block"}},
	{"py-twisted", "twisted", []string{"py-twisted/wait", "py-twisted/block"}},
	{"py-tornado", "tornado", []string{"py-tornado/wait", "py-tornado/block"}},
	{"py-circuits", "circuits", []string{"py-circuits/wait", "py-circuits/block"}},
	{"py-threading", "", []string{"py-threading/wait", "py-threading/block"}},
	{"py-forking", "", []string{"py-forking/wait", "py-forking/block"}},
}

// modelsDir is models/, from this package's folder.
const modelsDir = "../.."

func needPython(t *testing.T, module string) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skip("needs Debian's " + python)
	}
	if module != "" {
		if out, err := exec.Command(python, "-I", "-c", "import "+module).CombinedOutput(); err != nil {
			t.Skipf("%s cannot import %s: %v\n%s", python, module, err, out)
		}
	}
}

// TestPyKit runs _pykit's unit tests (models/_pykit/test_c10k.py, 0.1 s).
func TestPyKit(t *testing.T) {
	needPython(t, "")
	out, err := exec.Command(python, "-I", filepath.Join(modelsDir, "_pykit", "test_c10k.py")).CombinedOutput()
	if err != nil {
		t.Fatalf("test_c10k.py: %v\n%s", err, out)
	}
}

// A malformed C10K_WORK or C10K_SIZE stops every Python model at startup:
// exit status 2 and one line on stderr naming the variable and the bad
// part. Each model is given one of the bad values, in turn, as a start
// takes 0.1-1.5 s (eventlet's import); test_c10k.py tests the parsing.
func TestPythonWorkConfigError(t *testing.T) {
	bad := []struct{ env, want string }{
		{"C10K_WORK=cpu=5ms,nap=1s", "C10K_WORK='cpu=5ms,nap=1s': bad item 'nap=1s'"},
		{"C10K_WORK=wait=0s", "C10K_WORK='wait=0s': wait: bad duration '0s': must be more than 0"},
		{"C10K_SIZE=0", "C10K_SIZE=0"},
	}
	for i, m := range pyModels {
		b := bad[i%len(bad)]
		t.Run(m.name, func(t *testing.T) {
			t.Parallel() // a start each, waiting on the interpreter's imports
			needPython(t, m.module)
			// Were the value accepted, the model would serve until the
			// timeout kills it (exit status -1).
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(modelsDir, m.name, "run"))
			cmd.Env = append(os.Environ(), "C10K_ADDR=127.0.0.1:0", "C10K_WORK=cpu=1ms", b.env)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if code := cmd.ProcessState.ExitCode(); code != 2 || len(lines) != 1 || !strings.Contains(lines[0], b.want) {
				t.Errorf("%s: exit %d (%v), stderr %q; want exit 2 and one line holding %q", b.env, code, err, stderr.String(), b.want)
			}
		})
	}
}

// TestPythonWork runs worktest.py's cases, one model start each, over
// loopback (0.3-2 s a case, 22 cases: about 14 s one after another), two
// at a time (go test's -parallel): each is a few connections that wait
// on the clock and on imports, and its bounds are lower bounds on time
// (a wait, a stall) or loose upper ones.
func TestPythonWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every Python model with work over loopback")
	}
	for _, m := range pyModels {
		for _, c := range m.cases {
			t.Run(c, func(t *testing.T) {
				t.Parallel()
				needPython(t, m.module)
				out, err := exec.CommandContext(t.Context(), python, "-I", filepath.Join(modelsDir, "_pykit", "worktest.py"), modelsDir, c).CombinedOutput()
				t.Logf("%s", out)
				if err != nil {
					t.Fatalf("worktest.py %s: %v", c, err)
				}
			})
		}
	}
}
