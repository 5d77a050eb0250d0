package modeltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"c10klab/models/internal/modelkit"
)

// Contract checks the model contract of models/README.md against a built
// model binary, each behaviour on a fresh instance over loopback sockets.
type Contract struct {
	Bin string
	// Env is extra environment ("NAME=value") for every instance.
	Env []string
	// ResetReport: the library exposes the read error a client reset causes,
	// so the model must report it (kind "read", errno ECONNRESET).
	ResetReport bool
	// HalfCloseTruncates, when set, says why the model is known to lose the
	// tail of a large echo when the client half-closes before reading it;
	// that case then only checks that what arrives is an intact prefix.
	HalfCloseTruncates string
}

// Run runs every check as a subtest.
func (c Contract) Run(t *testing.T) {
	checks := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"echo_200_conns", c.echoMany},
		{"burst_1MiB", c.burst},
		{"half_close", c.halfClose},
		{"client_reset", c.reset},
		{"sigterm", c.sigterm},
		{"backlog", c.backlog},
		{"reuseport", c.reusePort},
		{"no_reuseport_conflict", c.noReusePort},
	}
	for _, ch := range checks {
		t.Run(ch.name, ch.fn)
	}
}

func (c Contract) start(t *testing.T, env ...string) *Server {
	t.Helper()
	return Start(t, c.Bin, append(append([]string{}, c.Env...), env...)...)
}

// dialMany opens n connections and checks each echoes once.
func dialMany(t *testing.T, addr string, n int) []*net.TCPConn {
	t.Helper()
	conns := make([]*net.TCPConn, 0, n)
	t.Cleanup(func() {
		for _, cn := range conns {
			cn.Close()
		}
	})
	for i := range n {
		cn, err := Dial(addr)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, n, err)
		}
		conns = append(conns, cn)
		if err := Echo(cn, []byte("hello"), 2*time.Second); err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, n, err)
		}
	}
	return conns
}

// errorReports returns the failure reports of the given kinds.
func errorReports(s *Server, kinds ...string) []modelkit.Report {
	var out []modelkit.Report
	for _, r := range s.Reports() {
		for _, k := range kinds {
			if r.Kind == k {
				out = append(out, r)
			}
		}
	}
	return out
}

func (c Contract) echoMany(t *testing.T) {
	const conns, rounds = 200, 5
	s := c.start(t)
	cs := dialMany(t, s.Addr, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, cn := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				msg := fmt.Appendf(nil, "conn%04d-r%02d", i, r)
				if err := Echo(cn, msg, 5*time.Second); err != nil {
					errs <- fmt.Errorf("conn %d round %d: %w", i, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, cn := range cs {
		cn.Close()
	}
	// Clean closes by the client are not failures.
	time.Sleep(200 * time.Millisecond)
	if reps := s.Reports(); len(reps) > 0 {
		t.Errorf("failure reports after a clean run: %+v", reps)
	}
}

func (c Contract) burst(t *testing.T) {
	s := c.start(t)
	cn, err := Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	want := Pattern(1 << 20)
	werr := make(chan error, 1)
	go func() {
		_, err := cn.Write(want) // one write; the model sees it in many reads
		werr <- err
	}()
	cn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	if n, err := readFull(cn, got); err != nil {
		t.Fatalf("read echo after %d bytes: %v", n, err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write burst: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("burst echo corrupted: %s", FirstDiff(got, want))
	}
}

func (c Contract) halfClose(t *testing.T) {
	tests := []struct {
		name string
		size int
		// readAfter delays the client's reading, so the model holds more
		// echo than the kernel buffers take when the FIN arrives.
		readAfter   time.Duration
		mayTruncate bool
	}{
		{"small", 12, 0, false},
		{"1MiB_reading", 1 << 20, 0, false},
		{"8MiB_late_reader", 8 << 20, 300 * time.Millisecond, c.HalfCloseTruncates != ""},
	}
	s := c.start(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cn, err := Dial(s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			want := Pattern(tc.size)
			werr := make(chan error, 1)
			go func() {
				if _, err := cn.Write(want); err != nil {
					werr <- fmt.Errorf("write: %w", err)
					return
				}
				werr <- cn.CloseWrite()
			}()
			time.Sleep(tc.readAfter)
			cn.SetReadDeadline(time.Now().Add(15 * time.Second))
			// ReadAll ends at the model's FIN; a reset or timeout is an error.
			got, err := io.ReadAll(cn)
			if err != nil {
				t.Fatalf("read echo (%d of %d bytes): %v", len(got), len(want), err)
			}
			if err := <-werr; err != nil {
				t.Fatalf("client: %v", err)
			}
			if tc.mayTruncate && len(got) < len(want) && bytes.HasPrefix(want, got) {
				t.Logf("known deviation: %d of %d bytes echoed (%s)", len(got), len(want), c.HalfCloseTruncates)
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo after half-close: %s", FirstDiff(got, want))
			}
		})
	}
}

func (c Contract) reset(t *testing.T) {
	s := c.start(t)
	healthy := dialMany(t, s.Addr, 10)

	victim, err := Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Leave the echo unread, then abort: the model's next read fails with
	// ECONNRESET instead of seeing a FIN.
	if _, err := victim.Write(Pattern(4096)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := victim.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	victim.Close()
	time.Sleep(100 * time.Millisecond)

	if s.Exited() {
		t.Fatalf("model exited after a client reset\nstderr:\n%s", s.Stderr())
	}
	for i, cn := range healthy {
		if err := Echo(cn, []byte("still there?"), 2*time.Second); err != nil {
			t.Errorf("connection %d after another's reset: %v", i, err)
		}
	}
	if err := EchoOnce(s.Addr, []byte("new one"), 2*time.Second); err != nil {
		t.Errorf("new connection after a reset: %v", err)
	}
	if !c.ResetReport {
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, r := range errorReports(s, modelkit.KindRead) {
			if r.Errno == "ECONNRESET" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no read/ECONNRESET report after a client reset; reports: %+v", s.Reports())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c Contract) sigterm(t *testing.T) {
	s := c.start(t)
	open := dialMany(t, s.Addr, 50) // open connections must not delay the exit
	took, err := s.Stop()
	if err != nil {
		t.Fatalf("after SIGTERM (%v): %v\nstderr:\n%s", took, err, s.Stderr())
	}
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	// The connections the model held are gone with it.
	for i, cn := range open {
		cn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := cn.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection %d still delivers data after the model exited", i)
		}
	}
}

func (c Contract) backlog(t *testing.T) {
	const backlog = 123
	s := c.start(t, fmt.Sprintf("%s=%d", modelkit.EnvBacklog, backlog))
	got, err := listenBacklogs(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatalf("no listening socket on %s", s.Addr)
	}
	for _, b := range got {
		if b != backlog {
			t.Errorf("listen backlog on %s = %d, want %d (all: %v)", s.Addr, b, backlog, got)
		}
	}
}

// listenBacklogs reads the backlog of every listening socket on addr's port:
// for a listener, ss shows it as Send-Q.
func listenBacklogs(addr string) ([]int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ss", "-Hltn", "sport = :"+port).Output()
	if err != nil {
		return nil, fmt.Errorf("ss: %w", err)
	}
	var bs []int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		b, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("ss line %q: %w", line, err)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

func (c Contract) reusePort(t *testing.T) {
	const conns = 64
	addr := FreeAddr(t)
	env := append(append([]string{}, c.Env...), modelkit.EnvReusePort+"=1")
	a := StartOn(t, c.Bin, addr, append(env, modelkit.EnvInstance+"=0")...)
	b := StartOn(t, c.Bin, addr, append(env, modelkit.EnvInstance+"=1")...)
	// b's readiness probe may have landed on a; let both finish closing it.
	time.Sleep(200 * time.Millisecond)
	sockets := func() (n [2]int) {
		for i, s := range []*Server{a, b} {
			m, err := s.SocketFDs()
			if err != nil {
				t.Fatal(err)
			}
			n[i] = m
		}
		return n
	}
	before := sockets()
	dialMany(t, addr, conns) // each echoed, so each was accepted
	var held [2]int
	for deadline := time.Now().Add(time.Second); ; {
		now := sockets()
		held = [2]int{now[0] - before[0], now[1] - before[1]}
		if held[0]+held[1] == conns || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("connections per instance: %v", held)
	if held[0]+held[1] != conns {
		t.Errorf("instances hold %v connections, want %d in all", held, conns)
	}
	if held[0] == 0 || held[1] == 0 {
		t.Errorf("one instance got no connections: %v", held)
	}
}

func (c Contract) noReusePort(t *testing.T) {
	first := c.start(t)
	cmd := exec.Command(c.Bin)
	cmd.Env = append(append(cmd.Environ(), c.Env...), modelkit.EnvAddr+"="+first.Addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("second instance without SO_REUSEPORT: want a failed exit, got %v", err)
		}
		if !strings.Contains(stderr.String(), "address already in use") {
			t.Errorf("start-up error should name the cause; stderr: %q", stderr.String())
		}
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("second instance on a taken port without SO_REUSEPORT kept running")
	}
}
