package conformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
)

// Model is a model executable as the runner starts it.
type Model struct {
	Name string
	Bin  string
	// Wrap, when set, is put in front of Bin (for example prlimit or
	// setpriv with their arguments), so the model runs under it.
	Wrap []string
	// Env is extra environment ("NAME=value") for every instance.
	Env []string
}

// StartTimeout bounds how long Start waits for an instance to echo when
// the context sets no earlier deadline.
const StartTimeout = 10 * time.Second

// StopBudget is how long the runner waits after SIGTERM before it kills a
// model's process group: the contract's.
const StopBudget = contract.StopBudget

// Instance is one running model instance, started by the launcher the
// runner uses: its leader heads a process group of its own.
type Instance struct {
	addr   netip.AddrPort
	proc   *launch.Process
	stdout *capBuffer
	stderr *capBuffer
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (netip.AddrPort, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort(), nil
}

// Start runs an instance on addr with extra environment env, as the
// runner does (launch.Start), and returns once it is ready by the runner's
// rule (launch.WaitReady): a process of its family listens on the port and
// the address echoes. On error nothing it started is left running.
func (m Model) Start(ctx context.Context, addr netip.AddrPort, env ...string) (*Instance, error) {
	in := &Instance{addr: addr, stdout: &capBuffer{}, stderr: &capBuffer{}}
	p, err := launch.Start(launch.Config{
		Argv:     append(append([]string{}, m.Wrap...), m.Bin),
		Contract: contract.Config{Addr: addr.String()},
		Env:      append(append([]string{}, m.Env...), env...),
		Stdout:   in.stdout,
		Stderr:   in.stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("start model %s: %w", m.label(), err)
	}
	in.proc = p
	if err := launch.WaitReady(ctx, addr, []*launch.Process{p}, StartTimeout); err != nil {
		in.Kill()
		return nil, fmt.Errorf("start model %s on %s: %w%s", m.label(), addr, err, in.stderrTail())
	}
	return in, nil
}

// StartFree is Start on a free loopback port.
func (m Model) StartFree(ctx context.Context, env ...string) (*Instance, error) {
	for attempt := 1; ; attempt++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		in, err := m.Start(ctx, addr, env...)
		// The port was free a moment ago, not reserved: another socket
		// (a client's ephemeral port, on a machine running other tests)
		// can take it before the model binds, and forked then exited
		// with "bind: Address already in use" (make test, 20261203).
		// Held by someone else now, it was never the model's fault: try
		// another.
		if err == nil || attempt == 3 || !taken(addr) {
			return in, err
		}
	}
}

// taken reports whether another socket holds addr now.
func taken(addr netip.AddrPort) bool {
	ln, err := net.Listen("tcp4", addr.String())
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	ln.Close()
	return false
}

func (m Model) label() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Bin
}

// Addr is the address the instance listens on.
func (in *Instance) Addr() netip.AddrPort { return in.addr }

// Pid is the instance's leader process id, also its process group id.
func (in *Instance) Pid() int { return in.proc.Pid() }

// Done is closed once the leader has exited and been reaped.
func (in *Instance) Done() <-chan struct{} { return in.proc.Done() }

// Exited reports whether the leader has ended.
func (in *Instance) Exited() bool { return in.proc.Exited() }

// Wait waits up to d for the leader to exit and reports whether it did.
func (in *Instance) Wait(d time.Duration) bool { return in.proc.Wait(d) }

// ExitErr is the leader's exit error (nil for status 0); it waits for the
// exit.
func (in *Instance) ExitErr() error { return in.proc.Err() }

func (in *Instance) status() string { return in.proc.Status() }

// Signal sends sig to the instance's leader process only.
func (in *Instance) Signal(sig syscall.Signal) error { return in.proc.Signal(sig) }

// signalGroup sends sig to the instance's process group.
func (in *Instance) signalGroup(sig syscall.Signal) error { return in.proc.SignalGroup(sig) }

// Stop does what the runner does (launch.Stop): SIGTERM to the process
// group, up to StopBudget for the leader to exit, then SIGKILL to the
// group. It returns how long the leader took and an error if it had to be
// killed.
func (in *Instance) Stop() (time.Duration, error) {
	start := time.Now()
	killed := launch.Stop(StopBudget, in.proc)
	took := time.Since(start)
	if len(killed) > 0 {
		return took, fmt.Errorf("still running %v after SIGTERM", StopBudget)
	}
	return took, nil
}

// Kill SIGKILLs the instance's process group and waits for the leader.
func (in *Instance) Kill() { in.proc.Kill() }

// Stdout is what the instance wrote on stdout so far (up to a cap).
func (in *Instance) Stdout() string { return in.stdout.String() }

// Stderr is what the instance wrote on stderr so far (up to a cap).
func (in *Instance) Stderr() string { return in.stderr.String() }

func (in *Instance) stderrTail() string {
	s := strings.TrimSpace(in.Stderr())
	if s == "" {
		return ""
	}
	// A crash dump names its cause first and goes on for pages.
	if len(s) > 3000 {
		s = s[:2000] + "\n[...]\n" + s[len(s)-1000:]
	}
	return "\nstderr:\n" + s
}

// Report is one failure report line of the contract.
type Report = contract.Report

// Reports parses the failure reports the instance wrote so far; other
// stdout lines are ignored, as the runner does.
func (in *Instance) Reports() []Report {
	var out []Report
	sc := bufio.NewScanner(strings.NewReader(in.Stdout()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if r, ok := contract.ParseReport(sc.Bytes()); ok {
			out = append(out, r)
		}
	}
	return out
}

// capBuffer keeps what a process writes, safe to read meanwhile, up to a
// cap: a model that floods its output must not exhaust the checker.
type capBuffer struct {
	mu        sync.Mutex
	b         bytes.Buffer
	truncated bool
}

const outputCap = 4 << 20

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := outputCap - c.b.Len(); room < len(p) {
		c.b.Write(p[:max(room, 0)])
		c.truncated = true
		return len(p), nil
	}
	return c.b.Write(p)
}

func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated {
		return c.b.String() + "\n[output truncated]"
	}
	return c.b.String()
}
