package swarm

import (
	"container/heap"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// Hostile kinds: how a share of the swarm's connections misbehaves while
// the rest keep the normal schedule (bench --hostile).
const (
	// HostileSlow sends one byte every few seconds and never a whole
	// message (slowloris): it holds a connection and a reader's buffer.
	HostileSlow = "slow"
	// HostileNonReader sends bursts and never reads: the server's echoes
	// fill the socket buffers, then its writes block or its memory grows.
	HostileNonReader = "nonreader"
	// HostileReset closes at a random moment with SO_LINGER 0 (a reset)
	// and connects again.
	HostileReset = "reset"
	// HostileHalfClose sends one message, shuts its write side and reads
	// until the server closes, then connects again.
	HostileHalfClose = "halfclose"
	// HostileIdle connects and never sends anything.
	HostileIdle = "idle"
	// HostileChurn connects, sends one message, waits for its echo, closes
	// and connects again an interval later: the accept path and TIME_WAIT.
	HostileChurn = "churn"
)

// HostileKinds are the kinds, in the order a matrix runs them.
var HostileKinds = []string{HostileSlow, HostileNonReader, HostileReset, HostileHalfClose, HostileIdle, HostileChurn}

// CheckHostile refuses an unknown kind.
func CheckHostile(kind string) error {
	if kind == "" || slices.Contains(HostileKinds, kind) {
		return nil
	}
	return fmt.Errorf("hostile kind %q: want one of %v", kind, HostileKinds)
}

const (
	slowEvery  = 3 * time.Second // a slow sender's byte
	burstSize  = 64 << 10        // a non-reader's write
	burstWrite = 1               // writes per interval: the buffers fill in seconds, at little cost to the swarm
)

// hostileState is the agent's hostile connections: the slots after the
// well-behaved ones.
type hostileState struct {
	kind     string
	target   int
	open     int
	cycles   int64
	failures map[string]int64
	burst    []byte
}

// setTargets sets how many well-behaved (n) and hostile (h) connections of
// kind the agent holds. Hostile slots follow the well-behaved ones; when
// anything about them changes they are closed and opened afresh.
func (a *agent) setTargets(n, h int, kind string, now int64) {
	well, changed := a.target-a.hostile.target, h != a.hostile.target || kind != a.hostile.kind
	a.hostile.target = 0 // no reopening while the slots move
	if changed || n != well {
		for i := min(n, well); i < len(a.conns); i++ {
			if a.conns[i].state != stateIdle {
				a.closeConn(int32(i))
			}
		}
	}
	a.hostile.kind = kind
	a.setTarget(n+h, now)
	for i := range a.conns {
		a.conns[i].hostile = i >= n
	}
	a.hostile.target = h
	if kind == HostileNonReader && a.hostile.burst == nil {
		a.hostile.burst = make([]byte, burstSize)
	}
}

// hostileConnected starts a hostile connection's misbehaviour.
func (a *agent) hostileConnected(slot int32, c *conn) {
	a.hostile.open++
	now := a.now()
	interval := int64(a.cfg.Interval)
	c.roff = 0
	switch a.hostile.kind {
	case HostileSlow:
		a.hostileTimer(slot, c, now+int64(slowEvery))
	case HostileNonReader:
		// Never read: without EPOLLIN the loop is told only of errors.
		if err := unix.EpollCtl(a.epfd, unix.EPOLL_CTL_MOD, int(c.fd), &unix.EpollEvent{Events: 0, Fd: c.fd}); err != nil {
			a.closeConn(slot)
			return
		}
		a.hostileTimer(slot, c, now)
	case HostileReset:
		// A moment within two intervals, spread over the slots and cycles.
		a.hostileTimer(slot, c, now+int64(frac(float64(slot)*goldenRatio+float64(a.hostile.cycles)*0.377)*float64(2*interval)))
	case HostileHalfClose, HostileChurn:
		for i := range a.wbuf {
			a.wbuf[i] = msgByte(uint32(slot), 0, i)
		}
		if n, err := unix.Write(int(c.fd), a.wbuf); err != nil || n < len(a.wbuf) {
			a.fail(slot, results.PhaseWrite, err)
			a.closeConn(slot)
			return
		}
		if a.hostile.kind == HostileHalfClose {
			unix.Shutdown(int(c.fd), unix.SHUT_WR)
		}
	case HostileIdle:
	}
}

func (a *agent) hostileTimer(slot int32, c *conn, at int64) {
	heap.Push(&a.timers, timer{at: at, slot: slot, gen: c.gen, kind: timerHostile})
}

// hostileAct is a hostile connection's next misdeed, on its timer.
func (a *agent) hostileAct(slot int32, c *conn, now int64) {
	switch a.hostile.kind {
	case HostileSlow:
		if _, err := unix.Write(int(c.fd), []byte{'x'}); err != nil && err != unix.EAGAIN {
			a.fail(slot, results.PhaseWrite, err)
			a.closeConn(slot)
			return
		}
		a.hostileTimer(slot, c, now+int64(slowEvery))
	case HostileNonReader:
		for range burstWrite {
			if _, err := unix.Write(int(c.fd), a.hostile.burst); err != nil {
				if err != unix.EAGAIN {
					a.fail(slot, results.PhaseWrite, err)
					a.closeConn(slot)
					return
				}
				break // the buffers are full: that is the point
			}
		}
		a.hostileTimer(slot, c, now+int64(a.cfg.Interval))
	case HostileReset:
		unix.SetsockoptLinger(int(c.fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		a.hostile.cycles++
		a.closeConn(slot)
	}
}

// hostileRead takes what the server sent a hostile connection.
func (a *agent) hostileRead(slot int32, c *conn) {
	n, err := unix.Read(int(c.fd), a.rbuf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		a.fail(slot, results.PhaseRead, err)
		a.closeConn(slot)
	case n == 0:
		if a.hostile.kind == HostileHalfClose {
			a.hostile.cycles++ // the server echoed and closed, as it should
		} else {
			a.fail(slot, results.PhaseRead, io.EOF)
		}
		a.closeConn(slot)
	case a.hostile.kind == HostileChurn:
		c.roff += int32(n)
		if c.roff >= int32(a.cfg.MsgSize) {
			a.hostile.cycles++
			a.closeConn(slot)
		}
	}
}

// hostileEnded opens a hostile slot again an interval after its connection
// ended, so the pressure lasts: churn then opens each hostile slot's
// connection once an interval, a rate of the hostile count per interval.
func (a *agent) hostileEnded(slot int32) {
	if int(slot) >= len(a.conns) || !a.conns[slot].hostile || a.hostile.target == 0 {
		return
	}
	heap.Push(&a.timers, timer{at: a.now() + int64(a.cfg.Interval), slot: slot, gen: a.conns[slot].gen, kind: timerReopen})
}
