package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
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

	mu         sync.Mutex
	stopping   bool
	readyDelay time.Duration // how long the readiness probe's echo took
}

// requestSize is the model's bytes per request when its environment gives
// it work (C10K_WORK), else 0: the readiness probe must be whole requests.
func (r *Running) requestSize() int {
	env := map[string]string{}
	for _, kv := range r.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	w, err := contract.ParseWork(func(k string) string { return env[k] })
	if err != nil || w.None() {
		return 0
	}
	return w.Size
}

// ReadyDelay is how long the readiness probe's echo took: a model that
// echoes late is measured, and its delay recorded.
func (r *Running) ReadyDelay() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readyDelay
}

type instance struct {
	index  int
	proc   *launch.Process
	stderr *procutil.Tail
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
	inst := &instance{index: i, stderr: procutil.NewTail(30)}
	p, err := launch.Start(launch.Config{
		Argv: argv,
		Contract: contract.Config{
			Addr: r.cfg.Addr.String(), Instance: i, ReusePort: r.cfg.Instances > 1,
			Backlog: r.cfg.Backlog, Preset: r.cfg.Preset,
		},
		Env:    r.cfg.Env,
		Stdout: &reportLines{on: r.cfg.OnReport},
		Stderr: inst.stderr,
		Start:  r.start,
	})
	if err != nil {
		return nil, err
	}
	inst.proc = p
	go r.watch(inst)
	return inst, nil
}

// start starts cmd pinned to the model's CPUs and lowers its open-files
// limit when asked.
func (r *Running) start(cmd *exec.Cmd) error {
	if err := pin.Start(cmd, r.cfg.CPUs); err != nil {
		return err
	}
	if r.cfg.NoFile > 0 {
		// Set right after the start, before the model accepts anything
		// (the runner waits for readiness next); exec and fork keep the
		// limit, and WaitReady sets it again on the whole family.
		lim := unix.Rlimit{Cur: uint64(r.cfg.NoFile), Max: uint64(r.cfg.NoFile)}
		if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
			return fmt.Errorf("set open-files limit %d: %w", r.cfg.NoFile, err)
		}
	}
	return nil
}

// reportLines is the model's stdout: each line that is a contract failure
// report goes to on, converted to the runner's stored form; the rest is
// ignored, as the contract allows.
type reportLines struct {
	on      func(results.ServerReport)
	partial []byte
}

// maxLine bounds a line kept while waiting for its end.
const maxLine = 1 << 20

func (w *reportLines) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if rep, ok := contract.ParseReport(w.partial[:i]); ok && w.on != nil {
			w.on(serverReport(rep))
		}
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLine {
		w.partial = w.partial[:0] // not a report: too long
	}
	return len(p), nil
}

// serverReport is the one place the wire form becomes the stored form.
func serverReport(r contract.Report) results.ServerReport {
	return results.ServerReport{
		Time: r.Time, Model: r.Model, Instance: r.Instance, Kind: r.Kind,
		Errno: r.Errno, Count: r.Count, Conns: r.Conns, Msg: r.Msg,
	}
}

// watch reports an exit that Stop did not ask for.
func (r *Running) watch(inst *instance) {
	<-inst.proc.Done()
	r.mu.Lock()
	stopping := r.stopping
	r.mu.Unlock()
	if !stopping {
		r.exited <- inst.exit()
	}
}

func (inst *instance) exit() Exit {
	e := Exit{Instance: inst.index, PID: inst.proc.Pid(), Stderr: inst.stderr.String(), Status: inst.proc.Status()}
	if st := inst.proc.State(); st != nil {
		e.Code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signaled, e.Signal = true, ws.Signal()
		}
	}
	return e
}

// Exited delivers each instance that exits before Stop.
func (r *Running) Exited() <-chan Exit { return r.exited }

// PIDs returns the instances' process IDs (each leads its process group).
func (r *Running) PIDs() []int {
	var pids []int
	for _, in := range r.insts {
		pids = append(pids, in.proc.Pid())
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

// Stop asks every instance to exit with SIGTERM, waits up to grace
// (contract.StopBudget is the contract's), then SIGKILLs each process
// group. It reports instances that needed SIGKILL.
func (r *Running) Stop(grace time.Duration) error {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	procs := make([]*launch.Process, len(r.insts))
	for i, in := range r.insts {
		procs[i] = in.proc
	}
	var slow []string
	for _, p := range launch.Stop(grace, procs...) {
		slow = append(slow, strconv.Itoa(p.Pid()))
	}
	if len(slow) > 0 {
		return fmt.Errorf("model %s: pid %v did not exit within %v of SIGTERM and was killed", r.cfg.Name, slow, grace)
	}
	return nil
}

// ErrNotReady is wrapped by WaitReady's errors.
var ErrNotReady = launch.ErrNotReady

// WaitReady waits until the model is ready by launch's rule, the one the
// conformance suite applies too: a process of each instance's family (its
// process group and descendants, not only the process started) listens,
// and the address echoes a probe.
func (r *Running) WaitReady(ctx context.Context, timeout time.Duration) error {
	procs := make([]*launch.Process, len(r.insts))
	for i, in := range r.insts {
		procs[i] = in.proc
	}
	delay, err := launch.WaitReadyDelay(ctx, r.cfg.Addr, procs, timeout, r.requestSize())
	r.mu.Lock()
	r.readyDelay = delay
	r.mu.Unlock()
	var ex *launch.ExitedError
	if errors.As(err, &ex) {
		for _, in := range r.insts {
			if in.proc.Pid() == ex.PID {
				return fmt.Errorf("%w: model %s %s", ErrNotReady, r.cfg.Name, in.exit())
			}
		}
	}
	if err != nil {
		return fmt.Errorf("model %s: %w", r.cfg.Name, err)
	}
	return r.limitFamilies()
}

// limitFamilies applies NoFile to every process of every instance's
// family once it is ready: a `run` script that starts its server as a
// child may have forked it before Start lowered the leader's limit.
func (r *Running) limitFamilies() error {
	if r.cfg.NoFile <= 0 {
		return nil
	}
	lim := unix.Rlimit{Cur: uint64(r.cfg.NoFile), Max: uint64(r.cfg.NoFile)}
	for _, in := range r.insts {
		fam, err := launch.Family(in.proc.Pid())
		if err != nil {
			return fmt.Errorf("model %s: %w", r.cfg.Name, err)
		}
		for _, p := range fam {
			err := unix.Prlimit(p.PID, unix.RLIMIT_NOFILE, &lim, nil)
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("model %s: set open-files limit %d of pid %d: %w", r.cfg.Name, r.cfg.NoFile, p.PID, err)
			}
		}
	}
	return nil
}
