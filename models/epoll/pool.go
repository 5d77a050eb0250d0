package main

import (
	"sync"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

// PresetPool is the remedy a reactor has for work that blocks or burns:
// the loop hands each request's cpu= and block= to a bounded pool of
// goroutines and only echoes, so block= no longer stalls the loop. wait=
// stays on the loop's timer, which never blocked it. cpu= is still bounded
// by the CPU the model is given (one, as the runner pins it): the pool
// moves the burning off the loop, it does not add CPU.
const PresetPool = "pool"

// EnvPool is the pool's size, in workers.
const EnvPool = "C10K_POOL"

// DefaultPool workers: each worker in block= holds one OS thread asleep,
// so the size bounds the threads the model makes. 256 workers sustain
// 256 / 5 ms = 51,200 requests a second with block=5ms, more than one loop
// echoes (40,000 connections at one message a second), for 256 threads of
// a few tens of KiB each.
const DefaultPool = 256

// job is one request for the pool, and back.
type job struct {
	l   *loop
	fd  int
	c   *conn // touched only by its loop; the worker only carries it
	req []byte
}

// pool is a fixed set of workers taking jobs first come, first served.
// Its queue is unbounded so that the loop never blocks on a full one: a
// connection has at most one request in the pool, so the queue holds at
// most one job per connection.
type pool struct {
	work modelkit.Work
	mu   sync.Mutex
	cond *sync.Cond
	jobs []job
}

func newPool(workers int, w modelkit.Work) *pool {
	p := &pool{work: w}
	p.cond = sync.NewCond(&p.mu)
	for range workers {
		go p.worker()
	}
	return p
}

func (p *pool) submit(j job) {
	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *pool) worker() {
	for {
		p.mu.Lock()
		for len(p.jobs) == 0 {
			p.cond.Wait()
		}
		j := p.jobs[0]
		p.jobs[0] = job{}
		p.jobs = p.jobs[1:]
		p.mu.Unlock()
		modelkit.OnThread(p.work)
		j.l.finished(j)
	}
}

// finished hands a worked request back to its loop and wakes the loop
// through its eventfd.
func (l *loop) finished(j job) {
	l.doneMu.Lock()
	l.done = append(l.done, j)
	l.doneMu.Unlock()
	l.wake()
}

// drainDone resets the loop's eventfd and goes on with the requests the
// pool has worked: their wait, or their echo.
func (l *loop) drainDone() {
	var b [8]byte
	unix.Read(l.evfd, b[:]) // EAGAIN when only a stop woke it: nothing to do
	l.doneMu.Lock()
	done := l.done
	l.done = nil
	l.doneMu.Unlock()
	for _, j := range done {
		if j.c.closed {
			continue
		}
		j.c.busy = false
		l.afterThread(j.fd, j.c, j.req)
		l.advance(j.fd, j.c)
	}
}
