// Package modeltest builds a model binary, runs it on a loopback port the way
// the runner does (contract environment variables, its own process group)
// and checks the model contract of models/README.md against it over real
// sockets. Model folders call it from their main_test.go.
package modeltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"c10klab/models/internal/modelkit"
)

// StopBudget is how long the runner waits after SIGTERM before it kills
// the model's process group.
const StopBudget = 2 * time.Second

// Build compiles the Go main package in dir (usually ".") into a fresh
// temporary directory and returns the binary's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "model")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build model in %s: %v\n%s", dir, err, out)
	}
	return bin
}

// FreeAddr returns a loopback ip:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Server is one running model process.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout: failure reports
	err  *lockedBuffer // stderr: start-up errors and library logs
	done chan struct{}
	wait error
}

// Start runs bin on a free loopback port with the given extra environment
// ("NAME=value") and returns once it echoes. The process is killed at the
// end of the test if it is still running.
func Start(t testing.TB, bin string, env ...string) *Server {
	t.Helper()
	return StartOn(t, bin, FreeAddr(t), env...)
}

// StartOn is Start on a given address (for instances sharing a port).
func StartOn(t testing.TB, bin, addr string, env ...string) *Server {
	t.Helper()
	s := &Server{Addr: addr, out: &lockedBuffer{}, err: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin)
	s.cmd.Env = append(os.Environ(), modelkit.EnvAddr+"="+addr)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.err
	// Its own group, as the runner does, so cleanup reaches any child.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start model %s: %v", bin, err)
	}
	go func() {
		s.wait = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.Exited() {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	})
	if err := s.waitReady(5 * time.Second); err != nil {
		t.Fatalf("model %s on %s not ready: %v\nstderr:\n%s", bin, addr, err, s.Stderr())
	}
	return s
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := EchoOnce(s.Addr, []byte("ready?"), 500*time.Millisecond)
		if err == nil {
			return nil
		}
		if s.Exited() {
			return fmt.Errorf("exited (%v) before serving: %w", s.wait, err)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the model's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits up to StopBudget. It returns how long the
// model took and its exit error (nil for status 0); an error if it did not
// exit in time (it is then killed).
func (s *Server) Stop() (time.Duration, error) {
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("signal model: %w", err)
	}
	select {
	case <-s.done:
		return time.Since(start), s.wait
	case <-time.After(StopBudget):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return time.Since(start), fmt.Errorf("still running %v after SIGTERM", StopBudget)
	}
}

// Stderr is what the model wrote on stderr so far.
func (s *Server) Stderr() string { return s.err.String() }

// Reports parses the failure reports the model wrote on stdout so far;
// other lines are ignored, as the runner does.
func (s *Server) Reports() []modelkit.Report {
	var reps []modelkit.Report
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	for sc.Scan() {
		var r modelkit.Report
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Kind != "" {
			reps = append(reps, r)
		}
	}
	return reps
}

// SocketFDs counts the sockets the process holds open (listeners included).
func (s *Server) SocketFDs() (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", s.Pid())
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list fds: %w", err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n, nil
}

// Dial connects to addr over TCP with a short timeout.
func Dial(addr string) (*net.TCPConn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// EchoOnce opens a connection, sends msg and checks it comes back.
func EchoOnce(addr string, msg []byte, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	return Echo(c, msg, timeout)
}

// Echo sends msg on c and checks exactly msg comes back within timeout.
func Echo(c net.Conn, msg []byte, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg))
	if _, err := readFull(c, got); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo mismatch: sent %q, got %q", msg, got)
	}
	return nil
}

func readFull(c net.Conn, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Pattern returns n bytes whose content depends on position, so a lost,
// repeated or reordered chunk shows up as a mismatch.
func Pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// FirstDiff describes where got and want first differ.
func FirstDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d of %d", i, len(want))
		}
	}
	return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
