package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const (
	// killGrace is how long children get to exit on SIGTERM before SIGKILL;
	// the contract allows the whole model 2 s.
	killGrace = time.Second
	// reapGrace bounds the wait for SIGKILLed children to be reaped.
	reapGrace = 700 * time.Millisecond
	// Back-off after a failed child start (EAGAIN, ENOMEM): the resource
	// comes back only as children exit, so retrying at once would spin.
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

type parent struct {
	lfd     int
	rep     *modelkit.Reporter
	forkCap int
	devnull *os.File // children's stdin and stdout; kept open for reuse
	env     []string

	mu       sync.Mutex
	kids     map[int]struct{} // live children by pid
	stopping bool

	stopped chan struct{} // closed when SIGTERM arrives
	exited  chan struct{} // poked (non-blocking, buffer 1) when a child is reaped
}

func runParent(cfg modelkit.Config, forkCap int) error {
	// PR_SET_PDEATHSIG fires when the *thread* that forked a child ends,
	// not the process. Go ends threads it no longer needs, so every fork
	// is made from the main goroutine locked to the main thread, which
	// lives exactly as long as the process.
	runtime.LockOSThread()

	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	lfd, err := modelkit.ListenFD(cfg, false) // blocking: accept(2) sleeps in the kernel
	if err != nil {
		return err
	}
	p := &parent{
		lfd: lfd, rep: modelkit.NewReporter(model, cfg), forkCap: forkCap,
		devnull: devnull, env: childEnv(),
		kids:    map[int]struct{}{},
		stopped: make(chan struct{}), exited: make(chan struct{}, 1),
	}

	// Before the first fork, so no child's exit goes unnoticed.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			p.reap()
		}
	}()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-term
		p.stop()
		p.rep.Close()
		os.Exit(0)
	}()

	p.acceptLoop()
	select {} // the listener broke; wait for SIGTERM
}

func (p *parent) live() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(len(p.kids))
}

func (p *parent) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

func (p *parent) acceptLoop() {
	var backoff time.Duration
	for {
		if !p.waitBelowCap() {
			return
		}
		fd, _, err := unix.Accept4(p.lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			switch {
			case err == unix.EINTR:
				continue
			case p.isStopping():
				return
			case err == unix.ECONNABORTED:
				p.rep.Report(modelkit.KindAccept, err, p.live())
				continue
			case err == unix.EBADF || err == unix.EINVAL:
				p.rep.Report(modelkit.KindAccept, err, p.live())
				return
			}
			// EMFILE, ENFILE, ENOBUFS, ENOMEM.
			p.rep.Report(modelkit.KindAccept, err, p.live())
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err := p.spawn(fd); err != nil {
			p.rep.Report(modelkit.KindFork, err, p.live())
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
	}
}

// waitBelowCap blocks while the cap on children is reached, as Python's
// ForkingMixIn does: the parent stops accepting, so new connections wait in
// the listen backlog, and once it is full the kernel drops their SYNs (the
// client sees a slow connect or a timeout). Each time it blocks it
// reports fork_cap. False when the model is stopping.
func (p *parent) waitBelowCap() bool {
	reported := false
	for {
		p.mu.Lock()
		n, stopping := len(p.kids), p.stopping
		p.mu.Unlock()
		if stopping {
			return false
		}
		if p.forkCap == 0 || n < p.forkCap {
			return true
		}
		if !reported {
			p.rep.Report(modelkit.KindForkCap, nil, int64(n))
			reported = true
		}
		select {
		case <-p.exited:
		case <-p.stopped:
			return false
		}
	}
}

// spawn starts a child serving fd and closes the parent's copy, whatever
// happens: a connection whose child could not start is closed at once.
func (p *parent) spawn(fd int) error {
	defer unix.Close(fd)
	// The lock spans the fork so the reaper cannot see a child before it
	// is recorded, and stop cannot miss one.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return nil
	}
	attr := &syscall.ProcAttr{
		Env:   p.env,
		Files: []uintptr{p.devnull.Fd(), p.devnull.Fd(), 2, uintptr(fd)},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	// /proc/self/exe is this very binary even if its path was replaced.
	pid, err := syscall.ForkExec("/proc/self/exe", []string{os.Args[0]}, attr)
	if err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	p.kids[pid] = struct{}{}
	return nil
}

// reap collects every child that has exited. Signals coalesce, so one
// SIGCHLD may stand for many exits: loop until none is left.
func (p *parent) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD, or children all still running
			return
		}
		p.mu.Lock()
		delete(p.kids, pid)
		p.mu.Unlock()
		select {
		case p.exited <- struct{}{}:
		default:
		}
	}
}

// stop ends accepting, asks every child to exit, kills the ones that do
// not within killGrace and waits until they have been reaped, so no child
// outlives the model.
func (p *parent) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	close(p.stopped)
	unix.Shutdown(p.lfd, unix.SHUT_RDWR) // wakes the blocked accept(2)

	p.signalKids(unix.SIGTERM)
	if p.waitNoKids(killGrace) {
		return
	}
	p.signalKids(unix.SIGKILL)
	p.waitNoKids(reapGrace)
}

func (p *parent) signalKids(sig unix.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pid := range p.kids {
		unix.Kill(pid, sig)
	}
}

// waitNoKids polls until every child has been reaped or d has passed. It
// polls rather than waiting on exited, which waitBelowCap may drain.
func (p *parent) waitNoKids(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if p.live() == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		p.reap() // in case a SIGCHLD is still queued behind us
		time.Sleep(5 * time.Millisecond)
	}
}
