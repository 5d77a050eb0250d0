package modeltest_test

// The C models' work per request (C10K_WORK, C10K_SIZE; models/_c/work.h),
// over real loopback sockets: the startup errors, the framing, that wait=
// delays each echo by at least its duration while the model serves other
// connections, that cpu= costs the model about that much CPU per request,
// and where block= stalls other connections (the reactors) and where it
// does not (a thread or process per connection). Lower bounds on time are
// exact; upper bounds are loose, for a busy machine.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"c10klab/models/internal/modeltest"
)

// cModelsDir is models/, from this package's folder.
const cModelsDir = "../.."

// size is the tests' request size: the launcher's readiness probe (24
// bytes) is two whole requests, so a model with work echoes it.
const size = "C10K_SIZE=12"

// cModels are the C models, and whether one thread serves every
// connection (a reactor: block= stalls them all).
var cModels = []struct {
	name    string
	reactor bool
}{
	{"c-epoll", true}, {"c-uring", true}, {"c-pthread", false}, {"forked", false},
}

// buildC builds a C model with its run script into a cache of the test's own.
func buildC(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("needs a C compiler")
	}
	cmd := exec.Command(filepath.Join(cModelsDir, name, "run"), "--build")
	cmd.Env = append(os.Environ(), "C10K_C_CACHE="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s/run --build: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and returns how long until all of it came back.
func roundTrip(c net.Conn, msg []byte) (time.Duration, error) {
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	if !bytes.Equal(got, msg) {
		return 0, fmt.Errorf("echo %q, want %q", got, msg)
	}
	return time.Since(start), nil
}

// A malformed C10K_WORK or C10K_SIZE ends the model before it listens:
// status 2 and one line naming the variable and the bad part.
func TestCWorkBadConfig(t *testing.T) {
	tests := []struct{ work, size, want string }{
		{"cpu=5", "", `"cpu=5": not a duration`},
		{"wait=1m", "", `unit "m"`},
		{"wait=0", "", "must be > 0"},
		{"cpu=-1ms", "", "must be > 0"},
		{"io=5ms", "", `"io": unknown kind`},
		{"cpu=1ms,cpu=2ms", "", "kind given twice"},
		{"cpu=1ms,", "", "want kind=duration"},
		{"cpu=1ms", "0", "C10K_SIZE=0"},
		{"cpu=1ms", "big", `C10K_SIZE="big"`},
	}
	for _, m := range cModels {
		bin := buildC(t, m.name)
		for _, tt := range tests {
			cmd := exec.Command(bin)
			cmd.Env = []string{"C10K_ADDR=127.0.0.1:1", "C10K_WORK=" + tt.work, "C10K_SIZE=" + tt.size}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			line := strings.TrimSpace(stderr.String())
			if code != 2 || !strings.Contains(line, tt.want) || !strings.Contains(line, "C10K_") || strings.Count(line, "\n") > 0 {
				t.Errorf("%s C10K_WORK=%q C10K_SIZE=%q: status %d, stderr %q; want 2 and one line with %q",
					m.name, tt.work, tt.size, code, line, tt.want)
			}
		}
	}
}

// Requests are cut at C10K_SIZE bytes whatever the writes: a request
// split over two writes is echoed after the second, no sooner than its
// wait; a partial request at EOF comes back at once, unworked.
func TestCWorkFraming(t *testing.T) {
	const wait = 50 * time.Millisecond
	for _, m := range cModels {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel() // lower bounds on time only: a busy CPU cannot fail them
			p := modeltest.Start(t, buildC(t, m.name), "C10K_WORK=wait=50ms", size)
			c := dial(t, p.Addr().String())
			if _, err := c.Write([]byte("01234")); err != nil {
				t.Fatal(err)
			}
			// Longer than the wait: half a request must not come back.
			c.SetReadDeadline(time.Now().Add(2 * wait))
			if n, err := c.Read(make([]byte, 16)); err == nil {
				t.Fatalf("%d bytes came back of half a request", n)
			}
			start := time.Now()
			if _, err := c.Write([]byte("56789ab")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 12)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "0123456789ab" {
				t.Fatalf("got %q (%v), want the request 0123456789ab", got, err)
			}
			if el := time.Since(start); el < wait {
				t.Errorf("request completed by the second write echoed after %v, sooner than its wait", el)
			}
			c2 := dial(t, p.Addr().String())
			start = time.Now()
			msg := []byte("0123456789abcdefghijklmnOPQ") // two requests and 3 bytes
			if _, err := c2.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := c2.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c2.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c2)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("after half-close got %q (%v), want %q", got, err, msg)
			}
			if el := time.Since(start); el < 2*wait {
				t.Errorf("two requests of wait=50ms each echoed in %v", el)
			}
		})
	}
}

// wait= delays every echo by at least its duration, and the model keeps
// serving the other connections meanwhile: n connections waiting at once
// take far less than n waits.
func TestCWorkWaitConcurrent(t *testing.T) {
	const n, wait = 20, 100 * time.Millisecond
	for _, m := range cModels {
		t.Run(m.name, func(t *testing.T) {
			p := modeltest.Start(t, buildC(t, m.name), "C10K_WORK=wait=100ms", size)
			conns := make([]*net.TCPConn, n)
			for i := range conns {
				conns[i] = dial(t, p.Addr().String())
			}
			start := time.Now()
			lat := parallelRoundTrips(t, conns)
			total := time.Since(start)
			for i, d := range lat {
				if d < wait {
					t.Errorf("connection %d: echo after %v, sooner than wait=%v", i, d, wait)
				}
			}
			if total > n*wait/2 {
				t.Errorf("%d connections waiting %v each took %v: the waits ran one after another", n, wait, total)
			}
		})
	}
}

// parallelRoundTrips sends one 16-byte request on every connection at once
// (12 bytes, the tests' C10K_SIZE) and returns each echo's latency.
func parallelRoundTrips(t *testing.T, conns []*net.TCPConn) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = roundTrip(c, []byte(fmt.Sprintf("req %08d", i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	return lat
}

// block= is a blocking sleep on the handling thread: in a reactor it
// stalls every connection, so requests arriving together are echoed one
// block apart; with a thread or process per connection they are not.
func TestCWorkBlock(t *testing.T) {
	const n, block = 5, 100 * time.Millisecond
	for _, m := range cModels {
		t.Run(m.name, func(t *testing.T) {
			p := modeltest.Start(t, buildC(t, m.name), "C10K_WORK=block=100ms", size)
			conns := make([]*net.TCPConn, n)
			for i := range conns {
				conns[i] = dial(t, p.Addr().String())
			}
			lat := parallelRoundTrips(t, conns)
			slowest := time.Duration(0)
			for _, d := range lat {
				if d < block {
					t.Errorf("echo after %v, sooner than block=%v", d, block)
				}
				slowest = max(slowest, d)
			}
			switch {
			case m.reactor && slowest < (n-1)*block:
				t.Errorf("reactor: %d requests at once, slowest echo after %v; blocking sleeps run one after another, want >= %v",
					n, slowest, (n-1)*block)
			case !m.reactor && slowest > (n-1)*block:
				t.Errorf("thread or process per connection: slowest of %d echoes after %v; the sleeps should overlap", n, slowest)
			}
		})
	}
}

// cpu= burns that much of the handling thread's CPU per request: the
// model's CPU time (its children's included, once reaped) grows by about
// n × cpu for n requests.
func TestCWorkCPU(t *testing.T) {
	const n, cpu = 100, 2 * time.Millisecond
	for _, m := range cModels {
		t.Run(m.name, func(t *testing.T) {
			p := modeltest.Start(t, buildC(t, m.name), "C10K_WORK=cpu=2ms", size)
			pid := p.Pid()
			time.Sleep(100 * time.Millisecond) // the readiness probe's child is gone
			before := cpuTime(t, pid)
			c := dial(t, p.Addr().String())
			msg := bytes.Repeat([]byte("0123456789ab"), n)
			if _, err := roundTrip(c, msg); err != nil {
				t.Fatal(err)
			}
			c.Close()
			var used time.Duration
			modeltest.WaitFor(t, 3*time.Second, func() error {
				// A forked child's CPU joins the parent's once it is reaped.
				// Less two clock ticks: user and system time are each
				// counted in whole ticks.
				if used = cpuTime(t, pid) - before; used < n*cpu-2*tick {
					return fmt.Errorf("%d requests of cpu=%v: the model used %v of CPU, want at least %v", n, cpu, used, n*cpu-2*tick)
				}
				return nil
			})
			if used > 3*n*cpu {
				t.Errorf("%d requests of cpu=%v used %v of CPU", n, cpu, used)
			}
			t.Logf("%d requests of cpu=%v: %v of CPU", n, cpu, used)
		})
	}
}

// cpuTime is the process's user and system time with its reaped children's
// (/proc/PID/stat fields 14-17, in clock ticks of 10 ms).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime, counted from field 3
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ticks += v
	}
	return time.Duration(ticks) * tick
}

// tick is a clock tick of /proc's CPU times (USER_HZ, 100 on Linux).
const tick = 10 * time.Millisecond
