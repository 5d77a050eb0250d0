package main

import (
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

// The work per request (C10K_WORK), gnet's way: OnTraffic, on the event
// loop, burns cpu= and sleeps block= itself (stalling the loop, which is
// what they measure). wait= is a runtime timer whose goroutine calls
// Conn.Wake, gnet's concurrency-safe way back onto the loop: Wake runs
// OnTraffic for that connection, which echoes the request and goes on
// with the next. A connection's later requests queue behind the one in
// its wait.

// workState is a connection's requests. Only its loop touches it, except
// fired, which the wait's timer sets.
type workState struct {
	fr      *modelkit.Framer
	queue   [][]byte
	pending []byte    // the request in its wait, nil when none
	due     time.Time // when pending's wait ends
	fired   atomic.Bool
}

// unfinished reports whether requests or an incomplete one are left.
func (st *workState) unfinished() bool {
	return st != nil && (st.pending != nil || len(st.queue) > 0)
}

// traffic queues the requests in buf and moves the connection on. A wake
// brings no input: it only moves on.
func (e *echo) traffic(c gnet.Conn, st *workState, buf []byte) {
	st.queue = append(st.queue, st.fr.Feed(buf)...)
	for {
		if st.pending != nil {
			if !st.fired.Load() {
				return // its wait is not over; the timer will wake us
			}
			// A failed Write makes gnet close the connection (see OnClose).
			_, _ = c.Write(st.pending)
			st.pending = nil
		}
		if len(st.queue) == 0 {
			return
		}
		req := st.queue[0]
		st.queue[0] = nil
		st.queue = st.queue[1:]
		modelkit.OnThread(e.work)
		if e.work.Wait <= 0 {
			_, _ = c.Write(req)
			continue
		}
		st.pending, st.due = req, time.Now().Add(e.work.Wait)
		st.fired.Store(false)
		time.AfterFunc(e.work.Wait, func() {
			st.fired.Store(true)
			// A closed connection's wake is ignored by gnet (stale).
			_ = c.Wake(nil)
		})
		return
	}
}

// finishAfterClose echoes what a half-closing client is still owed. gnet
// closes a connection at the client's FIN; requests still in their wait
// or queued behind it, and an incomplete request, would be lost. So a
// goroutine of their own finishes them on a duplicate of the descriptor,
// which keeps the socket open until it is done: the rest of the wait, the
// queued requests' work (off the loop, since the loop has let the
// connection go), then the incomplete request as it is. OnClose has made
// the socket blocking with a send timeout (drainOnClose), so the writes
// complete or fail within it.
func (e *echo) finishAfterClose(c gnet.Conn, st *workState) {
	rest := st.fr.Rest()
	if !st.unfinished() {
		if rest != nil {
			_, _ = c.Write(rest) // gnet flushes it after OnClose
		}
		return
	}
	fd, err := c.Dup()
	if err != nil {
		e.rep.Report(modelkit.KindWrite, err, e.live.Load())
		return
	}
	pending, due, queue := st.pending, st.due, st.queue
	st.pending, st.queue = nil, nil
	go func() {
		defer unix.Close(fd)
		if pending != nil {
			time.Sleep(time.Until(due))
			if writeAll(fd, pending) != nil {
				return
			}
		}
		for _, req := range queue {
			modelkit.OnThread(e.work)
			time.Sleep(e.work.Wait)
			if writeAll(fd, req) != nil {
				return
			}
		}
		_ = writeAll(fd, rest)
	}()
}

// writeAll writes p on a blocking descriptor; the client that half-closed
// may be gone, which is no failure of the model's.
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
