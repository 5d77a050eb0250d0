// Package launch is the one way c10klab starts a model and decides that it
// is ready, used by the runner (runner/internal/model) and by the
// conformance suite alike, so a model that passes the suite is one the
// runner can measure.
//
// A model runs as a process group of its own; the process started leads
// it. The model is that process's family: the group and every descendant
// (Family). Readiness is a property of the family, not of the process
// started: a process of each instance's family listens on the address and
// the address echoes a probe. So a `run` script may exec its server or
// start it as a child and wait: both are ready when the server is.
package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"c10klab/contract"
)

// Config says how to start one model process.
type Config struct {
	// Argv is the command line: the model's executable, possibly behind a
	// wrapper that execs it (the guard's cgexec, prlimit...).
	Argv []string
	// Contract is written into the environment (contract.Config.Environ);
	// the contract's variables inherited from the caller are dropped, so
	// the model gets exactly these and Env's.
	Contract contract.Config
	// Env is extra KEY=VALUE (a model's own knobs); a key given twice
	// takes its last value, so Env may also override Contract's.
	Env []string
	// Stdout and Stderr receive the model's output; nil discards it.
	Stdout, Stderr io.Writer
	// Start starts the command (for example pinned to CPUs); nil means
	// cmd.Start. When it fails after the process started, the group is
	// killed and reaped.
	Start func(*exec.Cmd) error
}

// ioDrain bounds how long Wait keeps reading the model's output after the
// leader exited: a process that left the group and still holds stdout must
// not keep the launcher waiting.
const ioDrain = time.Second

// Process is a started model instance: the leader of its process group.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, valid once done is closed
}

// Start starts cfg.Argv in a process group of its own. Pdeathsig takes the
// leader down with the caller, should the caller die first.
func Start(cfg Config) (*Process, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("launch: no command")
	}
	cmd := exec.Command(cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Env = append(contract.Without(os.Environ()), cfg.Contract.Environ()...)
	cmd.Env = append(cmd.Env, cfg.Env...)
	cmd.Stdout, cmd.Stderr = cfg.Stdout, cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = ioDrain
	start := cfg.Start
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(cmd); err != nil {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
		return nil, fmt.Errorf("start %s: %w", cfg.Argv[0], err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the leader's process id, also its process group's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the leader has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the leader has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the leader to exit and reports whether it did.
func (p *Process) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// Err is Wait's error (nil for status 0); it waits for the exit.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// State is the leader's exit state, nil while it runs (or if it could not
// be waited for).
func (p *Process) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.cmd.ProcessState
}

// Status describes how the leader ended: "exit status 2",
// "signal: killed"; "running" while it runs.
func (p *Process) Status() string {
	if !p.Exited() {
		return "running"
	}
	if st := p.cmd.ProcessState; st != nil {
		return st.String()
	}
	return fmt.Sprint(p.err)
}

// DiedOf reports whether the leader was killed by sig.
func (p *Process) DiedOf(sig syscall.Signal) bool {
	st := p.State()
	if st == nil {
		return false
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// Signal sends sig to the leader only.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal pid %d: %w", p.Pid(), err)
	}
	return nil
}

// SignalGroup sends sig to the leader's process group; a group already
// gone is not an error.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", p.Pid(), err)
	}
	return nil
}

// killWait bounds how long Kill waits for the group's other members to
// die: SIGKILL is delivered at once, but their exit takes a moment.
const killWait = time.Second

// Kill SIGKILLs the process group and waits for the leader, then (up to
// killWait) for the rest of its family, so that a server a `run` script
// started as its child no longer holds the port when Kill returns.
func (p *Process) Kill() {
	p.SignalGroup(syscall.SIGKILL)
	<-p.done
	deadline := time.Now().Add(killWait)
	for {
		fam, err := Family(p.Pid())
		if err != nil || !anyLive(fam) || time.Now().After(deadline) {
			return
		}
		// A member that left the group is not reached by the group's
		// SIGKILL: Family found it through its parent.
		for _, q := range fam {
			if q.State != 'Z' && q.PGrp != p.Pid() {
				syscall.Kill(q.PID, syscall.SIGKILL)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// anyLive reports whether a process of ps is not a zombie.
func anyLive(ps []Proc) bool {
	for _, q := range ps {
		if q.State != 'Z' {
			return true
		}
	}
	return false
}

// Stop is how every model is stopped: SIGTERM to each process group, up to
// budget (contract.StopBudget) for the leaders to exit, then SIGKILL to
// every group even after a clean exit, since a model's children may
// outlive it. It returns the leaders that had to be killed.
func Stop(budget time.Duration, procs ...*Process) (killed []*Process) {
	for _, p := range procs {
		p.SignalGroup(syscall.SIGTERM)
	}
	deadline := time.NewTimer(budget)
	defer deadline.Stop()
	expired := false
	for _, p := range procs {
		if !expired {
			select {
			case <-p.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		if !p.Exited() {
			killed = append(killed, p)
		}
	}
	for _, p := range procs {
		p.Kill()
	}
	return killed
}
