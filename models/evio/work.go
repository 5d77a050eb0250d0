package main

import (
	"sync/atomic"
	"time"

	"github.com/tidwall/evio"

	"c10klab/models/internal/modelkit"
)

// The work per request (C10K_WORK), evio's way: the Data event, on the
// event loop, burns cpu= and sleeps block= itself (stalling the loop,
// which is what they measure). wait= is a runtime timer whose goroutine
// calls Conn.Wake, evio's way back onto the loop from elsewhere: the loop
// then raises a Data event with no input for that connection, which
// returns the request's echo and goes on with the next. A connection's
// later requests queue behind the one in its wait.
//
// Two limits of evio's API, in README.md: evio closes a connection at the
// client's FIN with no event before, so requests still in their wait then
// are not echoed; and a wake's output replaces the connection's unsent
// output, so a client that has not read an echo by the time the next wait
// ends loses that echo's unsent bytes.

// workState is a connection's requests. Only its loop touches it, except
// fired, which the wait's timer sets.
type workState struct {
	fr      *modelkit.Framer
	queue   [][]byte
	pending []byte // the request in its wait, nil when none
	fired   atomic.Bool
}

// requests queues the requests in in and returns what can be echoed now.
// A wake brings no input: it only moves on.
func (s *server) requests(c evio.Conn, st *workState, in []byte) []byte {
	st.queue = append(st.queue, st.fr.Feed(in)...)
	var out []byte
	for {
		if st.pending != nil {
			if !st.fired.Load() {
				return out // its wait is not over; the timer will wake us
			}
			out = append(out, st.pending...)
			st.pending = nil
		}
		if len(st.queue) == 0 {
			return out
		}
		req := st.queue[0]
		st.queue[0] = nil
		st.queue = st.queue[1:]
		modelkit.OnThread(s.work)
		if s.work.Wait <= 0 {
			out = append(out, req...)
			continue
		}
		st.pending = req
		st.fired.Store(false)
		time.AfterFunc(s.work.Wait, func() {
			st.fired.Store(true)
			c.Wake() // evio ignores the wake of a closed connection
		})
		return out
	}
}
