package model

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/pin"
	"c10klab/runner/internal/procutil"
	"c10klab/runner/internal/results"
)

// StartConfig says how to start a model's instances.
type StartConfig struct {
	Bin       string
	Name      string // model name, for messages
	Addr      netip.AddrPort
	Backlog   int
	Instances int // >1 sets SO_REUSEPORT
	Preset    string
	Env       []string // extra KEY=VALUE for the model
	CPUs      []int    // pin here; empty: no pinning
	// Wrap, when set, turns the model's argv into the argv actually started
	// (the resource guard wraps it to enter its cgroups first).
	Wrap func(argv []string) []string
	// OnReport receives the model's own failure reports (stdout JSON lines).
	OnReport func(results.ServerReport)
	// NoFile, when positive, lowers each instance's open-files limit (soft
	// and hard) to this, to see a model meet the limit early.
	NoFile int
}

// Running is a started model: one process group per instance.
type Running struct {
	cfg    StartConfig
	insts  []*instance
	exited chan Exit

	mu       sync.Mutex
	stopping bool
}

type instance struct {
	index  int
	cmd    *exec.Cmd
	stderr *procutil.Tail
	done   chan struct{}
	state  *os.ProcessState
	err    error
}

// Exit describes an instance that ended by itself.
type Exit struct {
	Instance int
	PID      int
	Status   string // "exit status 2", "signal: killed"
	Code     int    // exit status, -1 when killed by a signal
	Signaled bool
	Signal   syscall.Signal
	Stderr   string
}

func (e Exit) String() string {
	s := fmt.Sprintf("instance %d (pid %d) exited: %s", e.Instance, e.PID, e.Status)
	if e.Stderr != "" {
		s += "; stderr: " + e.Stderr
	}
	return s
}

// Start starts cfg.Instances instances. Each runs in a process group of its
// own so that Stop reaches every process it forks.
func Start(cfg StartConfig) (*Running, error) {
	if cfg.Instances < 1 {
		cfg.Instances = 1
	}
	r := &Running{cfg: cfg, exited: make(chan Exit, cfg.Instances)}
	for i := 0; i < cfg.Instances; i++ {
		inst, err := r.startInstance(i)
		if err != nil {
			r.Stop(time.Second)
			return nil, fmt.Errorf("start model %s instance %d: %w", cfg.Name, i, err)
		}
		r.insts = append(r.insts, inst)
	}
	return r, nil
}

func (r *Running) startInstance(i int) (*instance, error) {
	argv := []string{r.cfg.Bin}
	if r.cfg.Wrap != nil {
		argv = r.cfg.Wrap(argv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"C10K_ADDR="+r.cfg.Addr.String(),
		"C10K_INSTANCE="+strconv.Itoa(i),
		"C10K_REUSEPORT="+boolEnv(r.cfg.Instances > 1),
	)
	if r.cfg.Backlog > 0 {
		cmd.Env = append(cmd.Env, "C10K_BACKLOG="+strconv.Itoa(r.cfg.Backlog))
	}
	if r.cfg.Preset != "" {
		cmd.Env = append(cmd.Env, "C10K_PRESET="+r.cfg.Preset)
	}
	cmd.Env = append(cmd.Env, r.cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	inst := &instance{index: i, cmd: cmd, stderr: procutil.NewTail(30), done: make(chan struct{})}
	cmd.Stderr = inst.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := pin.Start(cmd, r.cfg.CPUs); err != nil {
		return nil, err
	}
	if r.cfg.NoFile > 0 {
		// Set right after the start, before the model accepts anything
		// (the runner waits for readiness next); exec keeps the limit.
		lim := unix.Rlimit{Cur: uint64(r.cfg.NoFile), Max: uint64(r.cfg.NoFile)}
		if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
			procutil.KillGroup(cmd.Process.Pid)
			cmd.Wait()
			return nil, fmt.Errorf("set open-files limit %d: %w", r.cfg.NoFile, err)
		}
	}
	go r.watch(inst, stdout)
	return inst, nil
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// watch reads the instance's failure reports until its stdout closes, then
// reaps it and reports an exit that Stop did not ask for.
func (r *Running) watch(inst *instance, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rep results.ServerReport
		if json.Unmarshal(sc.Bytes(), &rep) != nil || rep.Kind == "" {
			continue // not a report; the contract lets a model print other things
		}
		if r.cfg.OnReport != nil {
			r.cfg.OnReport(rep)
		}
	}
	inst.err = inst.cmd.Wait()
	inst.state = inst.cmd.ProcessState
	close(inst.done)
	r.mu.Lock()
	stopping := r.stopping
	r.mu.Unlock()
	if !stopping {
		r.exited <- inst.exit()
	}
}

func (inst *instance) exit() Exit {
	e := Exit{Instance: inst.index, PID: inst.cmd.Process.Pid, Stderr: inst.stderr.String()}
	if inst.state != nil {
		e.Status = inst.state.String()
		e.Code = inst.state.ExitCode()
		if ws, ok := inst.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signaled, e.Signal = true, ws.Signal()
		}
	} else if inst.err != nil {
		e.Status = inst.err.Error()
	}
	return e
}

// Exited delivers each instance that exits before Stop.
func (r *Running) Exited() <-chan Exit { return r.exited }

// PIDs returns the instances' process IDs (each leads its process group).
func (r *Running) PIDs() []int {
	var pids []int
	for _, in := range r.insts {
		pids = append(pids, in.cmd.Process.Pid)
	}
	return pids
}

// Stderr returns the tail of every instance's stderr.
func (r *Running) Stderr() string {
	var s string
	for _, in := range r.insts {
		if t := in.stderr.String(); t != "" {
			s += fmt.Sprintf("[instance %d] %s ", in.index, t)
		}
	}
	return s
}

// Stop asks every instance to exit with SIGTERM, waits up to grace, then
// SIGKILLs each process group. It reports instances that needed SIGKILL.
func (r *Running) Stop(grace time.Duration) error {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	for _, in := range r.insts {
		procutil.SignalGroup(in.cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	var slow []string
	for _, in := range r.insts {
		select {
		case <-in.done:
		case <-deadline:
			slow = append(slow, strconv.Itoa(in.cmd.Process.Pid))
		}
	}
	// Kill the groups even after a clean exit: a model's children may
	// outlive it.
	for _, in := range r.insts {
		procutil.KillGroup(in.cmd.Process.Pid)
	}
	for _, in := range r.insts {
		<-in.done
	}
	if len(slow) > 0 {
		return fmt.Errorf("model %s: pid %v did not exit within %v of SIGTERM and was killed", r.cfg.Name, slow, grace)
	}
	return nil
}

// ErrNotReady is wrapped by WaitReady's errors.
var ErrNotReady = errors.New("model never became ready")

// WaitReady waits until every instance listens and the address echoes a
// probe. A TCP connect alone is not enough: the kernel completes the
// handshake for a listening socket whose owner never calls accept().
func (r *Running) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e := <-r.exited:
			r.exited <- e // keep it for the caller
			return fmt.Errorf("%w: model %s %s", ErrNotReady, r.cfg.Name, e)
		default:
		}
		err := r.probe(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || lastErr == nil {
			// A probe cut short by the overall timeout says less than the
			// one before it.
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w within %v: model %s on %s: %v", ErrNotReady, timeout, r.cfg.Name, r.cfg.Addr, lastErr)
		case <-tick.C:
		}
	}
}

// probe checks that each instance has a listening socket on the port and
// that a connection gets its bytes echoed.
func (r *Running) probe(ctx context.Context) error {
	listening, err := ListeningPIDs(r.cfg.Addr.Port())
	if err != nil {
		return err
	}
	for _, in := range r.insts {
		if !listening[in.cmd.Process.Pid] {
			return fmt.Errorf("instance %d (pid %d) does not listen on port %d yet", in.index, in.cmd.Process.Pid, r.cfg.Addr.Port())
		}
	}
	return Echoes(ctx, r.cfg.Addr, time.Second)
}

// Echoes connects to addr, sends a probe and waits for it to come back.
func Echoes(ctx context.Context, addr netip.AddrPort, wait time.Duration) error {
	d := net.Dialer{Timeout: wait}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	probe := []byte("c10klab readiness probe\n")
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(probe); err != nil {
		return fmt.Errorf("send probe: %w", err)
	}
	got := make([]byte, len(probe))
	if _, err := io.ReadFull(c, got); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("connected, but the probe was not echoed within %v: the model does not accept() or does not echo", wait)
		}
		return fmt.Errorf("read echo: %w", err)
	}
	if string(got) != string(probe) {
		return fmt.Errorf("probe echoed wrong: sent %q, got %q", probe, got)
	}
	return nil
}
