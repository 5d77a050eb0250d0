package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
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

// Instance is one running model process, leader of its own process group.
type Instance struct {
	addr   netip.AddrPort
	cmd    *exec.Cmd
	stdout *capBuffer
	stderr *capBuffer
	done   chan struct{}
	err    error // Wait's result, valid once done is closed
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

// Start runs an instance on addr with extra environment env, in a process
// group of its own as the runner does, and returns once a process of that
// group listens on the port and the address echoes. On error nothing it
// started is left running.
func (m Model) Start(ctx context.Context, addr netip.AddrPort, env ...string) (*Instance, error) {
	argv := append(append([]string{}, m.Wrap...), m.Bin)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(contractFree(os.Environ()), "C10K_ADDR="+addr.String())
	cmd.Env = append(append(cmd.Env, m.Env...), env...)
	in := &Instance{addr: addr, cmd: cmd, stdout: &capBuffer{}, stderr: &capBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.stdout, in.stderr
	// Pdeathsig: a test binary killed mid-check takes the model with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start model %s: %w", m.label(), err)
	}
	go func() {
		in.err = cmd.Wait()
		close(in.done)
	}()
	if err := in.waitReady(ctx); err != nil {
		in.Kill()
		return nil, fmt.Errorf("start model %s on %s: %w%s", m.label(), addr, err, in.stderrTail())
	}
	return in, nil
}

// StartFree is Start on a free loopback port.
func (m Model) StartFree(ctx context.Context, env ...string) (*Instance, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return m.Start(ctx, addr, env...)
}

func (m Model) label() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Bin
}

// contractFree drops the contract's variables from an inherited
// environment: an instance gets exactly the ones the check sets.
func contractFree(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "C10K_") {
			out = append(out, kv)
		}
	}
	return out
}

func (in *Instance) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	var last error
	for {
		if in.Exited() {
			return fmt.Errorf("exited (%s) before serving", in.status())
		}
		listens, err := groupListens(in.Pid(), in.addr.Port())
		switch {
		case err != nil:
			last = err
		case !listens:
			last = fmt.Errorf("no process of group %d listens on port %d", in.Pid(), in.addr.Port())
		default:
			probe, cancelProbe := context.WithTimeout(ctx, time.Second)
			last = EchoOnce(probe, in.addr, []byte("ready?\n"))
			cancelProbe()
			if last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", last)
		case <-in.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr is the address the instance listens on.
func (in *Instance) Addr() netip.AddrPort { return in.addr }

// Pid is the instance's process id, also its process group id.
func (in *Instance) Pid() int { return in.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (in *Instance) Done() <-chan struct{} { return in.done }

// Exited reports whether the process has ended.
func (in *Instance) Exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to exit and reports whether it did.
func (in *Instance) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-in.done:
		return true
	case <-t.C:
		return false
	}
}

// ExitErr is the process's exit error (nil for status 0); valid once it
// exited.
func (in *Instance) ExitErr() error {
	<-in.done
	return in.err
}

func (in *Instance) status() string {
	if in.cmd.ProcessState != nil {
		return in.cmd.ProcessState.String()
	}
	return fmt.Sprint(in.err)
}

// Signal sends sig to the instance's leader process only.
func (in *Instance) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(in.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal pid %d: %w", in.Pid(), err)
	}
	return nil
}

// signalGroup sends sig to the instance's process group.
func (in *Instance) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-in.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", in.Pid(), err)
	}
	return nil
}

// Stop does what the runner does: SIGTERM to the process group, up to
// StopBudget for the leader to exit, then SIGKILL to the group. It returns
// how long the leader took and an error if it had to be killed.
func (in *Instance) Stop() (time.Duration, error) {
	start := time.Now()
	if err := in.signalGroup(syscall.SIGTERM); err != nil {
		in.Kill()
		return 0, err
	}
	exited := in.Wait(StopBudget)
	took := time.Since(start)
	in.Kill() // children may outlive the leader
	if !exited {
		return took, fmt.Errorf("still running %v after SIGTERM", StopBudget)
	}
	return took, nil
}

// Kill SIGKILLs the instance's process group and waits for the leader.
func (in *Instance) Kill() {
	in.signalGroup(syscall.SIGKILL)
	<-in.done
}

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

// Report is one failure report line of models/README.md.
type Report struct {
	Instance int    `json:"instance"`
	Kind     string `json:"kind"`
	Errno    string `json:"errno,omitempty"`
	Count    int64  `json:"count"`
	Conns    int64  `json:"conns"`
	Msg      string `json:"msg,omitempty"`
}

// Reports parses the failure reports the instance wrote so far; other
// stdout lines are ignored, as the runner does.
func (in *Instance) Reports() []Report {
	var out []Report
	sc := bufio.NewScanner(strings.NewReader(in.Stdout()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Report
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Kind != "" {
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
