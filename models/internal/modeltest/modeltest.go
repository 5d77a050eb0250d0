// Package modeltest is what the models' own tests share: building the
// model, running it as the runner does (through runner/conformance, which
// also holds the contract checks every model must pass), and small
// probes of a running model. The contract itself is checked for every
// folder under models/ by runner/conformance's suite; a model's tests
// check only what is particular to it.
package modeltest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"c10klab/runner/conformance"
)

// Main builds the model in the current directory once, sets *bin to the
// binary's path and runs the package's tests. The binary lies in a
// world-readable directory, so a test may run it as an unprivileged user.
func Main(m *testing.M, bin *string) {
	os.Exit(runMain(m, bin))
}

func runMain(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "c10k-model-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*bin = filepath.Join(dir, "model")
	if out, err := exec.Command("go", "build", "-o", *bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build model: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Start runs bin on a free loopback port with extra environment env
// ("NAME=value"), in its own process group, and returns once it echoes.
// The instance's process group is killed when the test ends.
func Start(t testing.TB, bin string, env ...string) *conformance.Instance {
	t.Helper()
	return StartModel(t, conformance.Model{Bin: bin}, env...)
}

// StartModel is Start for a model run behind a wrapper (Model.Wrap).
func StartModel(t testing.TB, m conformance.Model, env ...string) *conformance.Instance {
	t.Helper()
	in, err := m.StartFree(t.Context(), env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Kill)
	return in
}

// DialEcho opens n connections to addr, each echoing a message of its own,
// and closes them when the test ends.
func DialEcho(t testing.TB, addr netip.AddrPort, n int) []*net.TCPConn {
	t.Helper()
	conns, err := conformance.DialEcho(t.Context(), addr, n, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// Echo checks that c echoes msg within 3 s.
func Echo(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := conformance.Echo(ctx, c, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// WaitFor retries check until it succeeds or d has passed, then fails the
// test with check's last error.
func WaitFor(t testing.TB, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ResetReported checks a model that sees the read error a client reset
// causes: it must report it as kind "read", errno ECONNRESET.
func ResetReported(t *testing.T, bin string) {
	in := Start(t, bin)
	c := DialEcho(t, in.Addr(), 1)[0]
	// Leave echo unread, then abort: the model's next read fails with
	// ECONNRESET instead of seeing a FIN.
	if _, err := c.Write(conformance.Pattern(4096)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := c.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	c.Close()
	WaitFor(t, 2*time.Second, func() error {
		for _, r := range in.Reports() {
			if r.Kind == "read" && r.Errno == "ECONNRESET" {
				return nil
			}
		}
		return fmt.Errorf("no read/ECONNRESET report after a client reset; reports: %+v", in.Reports())
	})
}

// HalfCloseLate sends size bytes, half-closes, and reads only after a
// delay, so the model holds more echo than the socket buffers take when the
// FIN arrives. It returns what came back before the model closed, failing
// the test if that is not an intact prefix of what was sent.
func HalfCloseLate(t *testing.T, bin string, size int) (got, want []byte) {
	t.Helper()
	in := Start(t, bin)
	want = conformance.Pattern(size)
	got, err := conformance.HalfCloseEcho(t.Context(), in.Addr(), want, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("half-close with %d bytes: %v", size, err)
	}
	if !bytes.HasPrefix(want, got) {
		t.Fatalf("echo after half-close is not an intact prefix: %s", conformance.FirstDiff(got, want))
	}
	return got, want
}

// StatusField reads a field such as "Threads" from /proc/pid/status (the
// first number, for fields holding several).
func StatusField(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(v); len(f) > 0 { // Uid: real effective saved fs
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// ChildrenOf lists the processes whose parent is pid.
func ChildrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, err := StatusField(n, "PPid"); err == nil && pp == pid {
			kids = append(kids, n)
		}
	}
	return kids
}

// EchoRound sends every connection a message of its own at once and checks
// each comes back: a second round on connections a test already holds.
func EchoRound(t testing.TB, conns []*net.TCPConn) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("round two %d", i)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(msg)); err != nil {
				errs <- err
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
				errs <- fmt.Errorf("conn %d: got %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BlockStallsTheLoop checks what block= (models/README.md, "Work per
// request") does to a model that runs every handler on one event loop in
// one thread: conns connections send one request each at the same moment,
// and since each handler's blocking sleep stops the whole loop, the last
// echo comes back no sooner than conns sleeps; handlers that ran
// concurrently would take about one. A lower bound only, so a busy machine
// cannot fail it. It returns how long the last echo took.
func BlockStallsTheLoop(t *testing.T, bin string) time.Duration {
	t.Helper()
	const (
		conns = 5
		sleep = 20 * time.Millisecond
		size  = 12 // divides the launcher's 24-byte readiness probe and DialEcho's greeting
	)
	in := Start(t, bin, "C10K_WORK=block="+sleep.String(), "C10K_SIZE="+strconv.Itoa(size))
	cs := DialEcho(t, in.Addr(), conns)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for i, c := range cs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			errs[i] = conformance.Echo(ctx, c, fmt.Appendf(nil, "blocked %03d\n", i))
		})
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	if want := conns * sleep; took < want {
		t.Fatalf("%d connections with one request each and block=%v came back in %v, sooner than %v: the blocking sleeps overlapped, so they did not block the loop",
			conns, sleep, took.Round(time.Millisecond), want)
	}
	return took
}
