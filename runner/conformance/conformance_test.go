package conformance_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/conformance"
)

// serve runs handle for every connection to a loopback listener until the
// test ends.
func serve(t *testing.T, handle func(*net.TCPConn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func echo(c *net.TCPConn) {
	io.Copy(c, c)
	c.Close()
}

// corruptAt echoes, flipping the byte at stream offset off.
func corruptAt(off int) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		defer c.Close()
		buf := make([]byte, 32<<10)
		seen := 0
		for {
			n, err := c.Read(buf)
			if off >= seen && off < seen+n {
				buf[off-seen] ^= 0xff
			}
			seen += n
			if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
				return
			}
		}
	}
}

// truncateOnHalfClose holds the input until the client's FIN, then sends
// back only its first 12 bytes.
func truncateOnHalfClose(c *net.TCPConn) {
	defer c.Close()
	in, _ := io.ReadAll(c)
	c.Write(in[:min(12, len(in))])
}

// neverClose echoes but never closes its side after the client's FIN; it
// returns once serve's cleanup has closed the connection.
func neverClose(c *net.TCPConn) {
	io.Copy(c, c)
	for {
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNetChecksCatchBrokenServers(t *testing.T) {
	// stopOnReset closes every connection and the listener once one read
	// fails with ECONNRESET, as a model that exits on a reset would.
	var dead sync.Once
	dying := make(chan struct{})
	stopOnReset := func(c *net.TCPConn) {
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if errors.Is(err, syscall.ECONNRESET) {
				dead.Do(func() { close(dying) })
			}
			select {
			case <-dying:
				return
			default:
			}
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	// capped serves at most 50 connections; later ones are closed at once.
	var mu sync.Mutex
	held := 0
	capped := func(c *net.TCPConn) {
		mu.Lock()
		full := held >= 50
		if !full {
			held++
		}
		mu.Unlock()
		if full {
			c.Close()
			return
		}
		echo(c)
	}

	tests := []struct {
		name    string
		handle  func(*net.TCPConn)
		check   string
		wantErr string // "" for a pass
	}{
		{"echo passes echo", echo, conformance.CheckEcho, ""},
		{"echo passes burst", echo, conformance.CheckBurst, ""},
		{"echo passes half_close", echo, conformance.CheckHalfClose, ""},
		{"echo passes client_reset", echo, conformance.CheckReset, ""},
		{"capped at 50 conns", capped, conformance.CheckEcho, "echo: connection "},
		{"corrupts the burst", corruptAt(700_000), conformance.CheckBurst,
			"burst: echo of 1048576 bytes corrupted: first difference at byte 700000 of 1048576"},
		{"truncates on half-close", truncateOnHalfClose, conformance.CheckHalfClose,
			"half_close: got 12 of 4096 bytes before EOF"},
		{"never closes after half-close", neverClose, conformance.CheckHalfClose,
			"half_close: 12 bytes: got 12 of 12 bytes and no EOF: the model did not close its side"},
		{"stops serving on a reset", stopOnReset, conformance.CheckReset, "client_reset: "},
	}
	opts := conformance.Options{Conns: 100, Timeout: 2 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.handle)
			err := netCheck(t, tt.check).Run(t.Context(), addr, opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want a pass, got %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one starting %q", err, tt.wantErr)
			}
			var ce *conformance.CheckError
			if !errors.As(err, &ce) || ce.Check != tt.check {
				t.Fatalf("error %v does not name check %q", err, tt.check)
			}
		})
	}
}

func netCheck(t *testing.T, name string) conformance.NetCheck {
	for _, c := range conformance.NetChecks() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no network check %q", name)
	return conformance.NetCheck{}
}

func TestQuick(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(*net.TCPConn)
		wantErr string
	}{
		{"echo server", echo, ""},
		{"truncates on half-close", truncateOnHalfClose, "echo: "}, // echoes nothing before FIN
		{"corrupts the burst", corruptAt(100_000), "burst: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.handle)
			start := time.Now()
			err := conformance.Quick(t.Context(), addr)
			took := time.Since(start)
			if took > conformance.QuickBudget+time.Second {
				t.Errorf("Quick took %v, budget %v", took, conformance.QuickBudget)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want a pass, got %v", err)
				}
				t.Logf("quick check passed in %v", took.Round(time.Millisecond))
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error starting %q", err, tt.wantErr)
			}
		})
	}
}

// Nothing listens: Quick fails fast, naming the first check.
func TestQuickNoServer(t *testing.T) {
	addr, err := conformance.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	err = conformance.Quick(t.Context(), addr)
	if err == nil || !strings.HasPrefix(err.Error(), "echo: connection ") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v, want echo: ... connection refused", err)
	}
}

// TestProcChecksCatchBrokenModels runs testdata/badmodel, an echo server
// breaking one rule at a time, through the process checks.
func TestProcChecksCatchBrokenModels(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a model")
	}
	bin := filepath.Join(t.TempDir(), "badmodel")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/badmodel").CombinedOutput(); err != nil {
		t.Fatalf("build badmodel: %v\n%s", err, out)
	}
	tests := []struct {
		bad     string
		check   string
		wantErr string // a regexp the error must match from its start; "" for a pass
	}{
		{"", conformance.CheckSIGTERM, ""},
		{"", conformance.CheckReusePort, ""},
		{"", conformance.CheckExclusive, ""},
		{"", conformance.CheckBacklog, ""},
		{"", conformance.CheckCleanQuiet, ""},
		{"ignore_term", conformance.CheckSIGTERM, "sigterm: pid "},
		{"exit_status", conformance.CheckSIGTERM, "sigterm: exited "},
		{"orphan", conformance.CheckSIGTERM, "sigterm: the model exited "},
		{"reuse_never", conformance.CheckReusePort, "reuseport: instance 1 of 2 on one port: "},
		{"reuse_always", conformance.CheckExclusive, "exclusive_port: a second instance with C10K_REUSEPORT=0 listens"},
		{"backlog", conformance.CheckBacklog, "backlog: listener on "},
		{"noisy", conformance.CheckCleanQuiet, `clean_close_quiet: \d+ failure reports after only clean closes`},
	}
	for _, tt := range tests {
		t.Run(tt.bad+"/"+tt.check, func(t *testing.T) {
			t.Parallel()
			m := conformance.Model{Name: "badmodel", Bin: bin, Env: []string{"BAD=" + tt.bad}}
			err := procCheck(t, tt.check).Run(t.Context(), m, conformance.Options{})
			if reason, ok := conformance.Skipped(err); ok {
				t.Skip(reason)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want a pass, got %v", err)
				}
				return
			}
			if err == nil || !regexp.MustCompile("^"+tt.wantErr).MatchString(err.Error()) {
				t.Fatalf("got %v, want an error matching ^%s", err, tt.wantErr)
			}
			t.Log(err)
		})
	}
}

func procCheck(t *testing.T, name string) conformance.ProcCheck {
	for _, c := range conformance.ProcChecks() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no process check %q", name)
	return conformance.ProcCheck{}
}

// Without ss the backlog check cannot read a listener's backlog: it says
// so as a skip, not as a failure of the model.
func TestBacklogSkipsWithoutSS(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m := conformance.Model{Name: "never started", Bin: "/nonexistent"}
	err := procCheck(t, conformance.CheckBacklog).Run(t.Context(), m, conformance.Options{})
	reason, ok := conformance.Skipped(err)
	if !ok || !strings.Contains(reason, "ss (iproute2) not installed") {
		t.Fatalf("got %v, want a skip naming ss", err)
	}
	if !strings.HasPrefix(err.Error(), "backlog: skipped: ") {
		t.Errorf("error %q does not name the check", err)
	}
}
