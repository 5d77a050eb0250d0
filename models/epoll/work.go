package main

import (
	"container/heap"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

// The work per request (C10K_WORK), the reactor's way: the loop itself
// burns cpu= and sleeps block= (so both stall every connection of the
// loop, which is what they measure), and wait= is a timer of the loop's
// own: a min-heap of due echoes whose soonest sets epoll_wait's timeout,
// so the loop serves the others meanwhile. A connection's later requests
// queue behind the one in progress; while one is in progress the loop
// stops reading the connection, so its further requests wait in the
// kernel's socket buffer, not in the model's memory.

// timer is one request in its wait.
type timer struct {
	due time.Time
	fd  int
	c   *conn
	req []byte
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{} // let the request go
	*h = old[:len(old)-1]
	return t
}

// advance moves a connection with work on as far as it can now: writes
// what is ready, starts the next request, and asks epoll for the events
// that can move it further (none while a request is in progress).
func (l *loop) advance(fd int, c *conn) {
	for !c.closed {
		switch {
		case c.busy:
			l.interest(fd, c, 0)
			return
		case len(c.out) > 0:
			if !l.writeOut(fd, c) {
				return
			}
		case len(c.queue) > 0:
			req := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			if l.pool != nil {
				c.busy = true
				l.pool.submit(job{l: l, fd: fd, c: c, req: req})
				continue
			}
			modelkit.OnThread(l.work) // cpu=, block=: on the loop, stalling it
			l.afterThread(fd, c, req)
		case c.eof:
			// The client half-closed and every request is echoed: the
			// incomplete one goes back as it is, then the connection closes.
			if rest := c.fr.Rest(); rest != nil {
				c.out = rest
				continue
			}
			l.close(fd)
			return
		default:
			l.interest(fd, c, unix.EPOLLIN)
			return
		}
	}
}

// afterThread goes on with a request whose cpu= and block= are done: its
// wait, or its echo.
func (l *loop) afterThread(fd int, c *conn, req []byte) {
	if l.work.Wait > 0 {
		c.busy = true
		heap.Push(&l.timers, timer{due: time.Now().Add(l.work.Wait), fd: fd, c: c, req: req})
		return
	}
	c.out = append(c.out, req...)
}

// fireTimers echoes the requests whose wait is over.
func (l *loop) fireTimers() {
	now := time.Now()
	for len(l.timers) > 0 && !l.timers[0].due.After(now) {
		t := heap.Pop(&l.timers).(timer)
		if t.c.closed {
			continue
		}
		t.c.busy = false
		t.c.out = append(t.c.out, t.req...)
		l.advance(t.fd, t.c)
	}
}

// writeOut writes c.out and reports whether all of it went. When not, the
// rest waits for EPOLLOUT, or the connection failed and is closed.
func (l *loop) writeOut(fd int, c *conn) bool {
	w, err := unix.Write(fd, c.out)
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		l.rep.Report(modelkit.KindWrite, err, l.live.Load())
		l.close(fd)
		return false
	}
	c.out = c.out[max(w, 0):]
	if len(c.out) > 0 {
		l.interest(fd, c, unix.EPOLLOUT)
		return false
	}
	c.out = nil
	return true
}

// interest asks epoll for events on fd, when they change.
func (l *loop) interest(fd int, c *conn, events uint32) {
	if c.events == events {
		return
	}
	if err := l.ctl(unix.EPOLL_CTL_MOD, fd, events); err != nil {
		l.close(fd)
		return
	}
	c.events = events
}
