package swarm

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// AgentConfig is what one agent process needs.
type AgentConfig struct {
	Index          int            // agent number; picks its source addresses
	Addr           netip.AddrPort // the model, by IP
	Interval       time.Duration  // between messages on one connection
	Deadline       time.Duration  // an echo later than this fails; at most Interval
	ConnectTimeout time.Duration
	MsgSize        int
	Rate           int // connections opened per second
	// RampDoubling, when set, starts each ramp doubling the count held
	// every RampDoubling, from at least RampFrom, until that reaches Rate
	// (Ramp).
	RampDoubling time.Duration
	RampFrom     int
	MaxInFlight  int // connects pending at once
	StatusEvery  time.Duration
	// NoFile, when positive, lowers the agent's own open-files limit to
	// this instead of raising it: a way to see the swarm, not the model,
	// run short, and be reported as such.
	NoFile int
	// Src and SrcCount are the source addresses to spread connections
	// over, SrcCount consecutive ones from Src, for an agent on a host of
	// its own (off loopback). Unset: 127.(16+Index).x.y toward a loopback
	// target, the kernel's choice otherwise.
	Src      netip.Addr
	SrcCount int
}

// Validate checks a configuration before any socket is opened.
func (c AgentConfig) Validate() error {
	switch {
	case !c.Addr.IsValid() || !c.Addr.Addr().Is4():
		return fmt.Errorf("agent: target %v: need an IPv4 address and port", c.Addr)
	case c.Interval <= 0:
		return fmt.Errorf("agent: interval %v must be positive", c.Interval)
	case c.Deadline <= 0 || c.Deadline > c.Interval:
		return fmt.Errorf("agent: deadline %v must be positive and at most the interval %v", c.Deadline, c.Interval)
	case c.MsgSize < minMsgSize || c.MsgSize > 65536:
		return fmt.Errorf("agent: message size %d outside %d..65536 bytes", c.MsgSize, minMsgSize)
	case c.Rate <= 0:
		return fmt.Errorf("agent: connect rate %d must be positive", c.Rate)
	case c.Index < 0 || c.Index > 200:
		return fmt.Errorf("agent: index %d outside 0..200", c.Index)
	}
	if c.Src.IsValid() && (!c.Src.Is4() || c.SrcCount < 1 || c.SrcCount > 65536) {
		return fmt.Errorf("agent: source addresses %v (+%d): need IPv4 and a count in 1..65536", c.Src, c.SrcCount)
	}
	return nil
}

// A message carries its connection slot and sequence number in its first 8
// bytes and a pattern derived from both after that, so a byte echoed on the
// wrong connection, out of order or twice is caught.
const minMsgSize = 8

func msgByte(slot, seq uint32, i int) byte {
	switch {
	case i < 4:
		return byte(slot >> (8 * i))
	case i < 8:
		return byte(seq >> (8 * (i - 4)))
	}
	return byte(slot*31 + seq*17 + uint32(i)*7)
}

type connState uint8

const (
	stateIdle connState = iota // no socket: never opened, or failed and closed
	stateConnecting
	stateOpen
)

type conn struct {
	fd     int32
	state  connState
	ok     bool   // the latest evaluated message came back intact in time
	gen    uint32 // bumped on close, so stale timers are ignored
	seq    uint32 // next message to send
	rseq   uint32 // message being received
	roff   int32  // bytes of rseq received so far
	missed uint32 // messages counted as past deadline, up to this seq (exclusive)
	base   int64  // ns (agent clock) at which message 0 was scheduled
	// clean is when this connection last opened or missed a deadline
	// (agent clock): it is sustained through a window that starts later.
	clean int64
	// lastOK is when an echo last came back intact and on time.
	lastOK int64
	// hostile: this slot misbehaves (AgentConfig.Hostile) and is counted
	// apart from the well-behaved connections.
	hostile bool
}

type timerKind uint8

const (
	timerSend timerKind = iota
	timerConnect
	timerHostile // a hostile connection's next misdeed
	timerReopen  // a hostile connection that ended opens again
)

type timer struct {
	at   int64
	slot int32
	gen  uint32
	kind timerKind
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// agent is the state of one agent process's loop. Everything runs on one
// locked OS thread; the only other goroutine reads commands from stdin.
//
// The loop ticks while it has work: it sleeps until the next tick (every
// quantum, on a grid offset per agent), then takes every ready socket at
// once, sends the messages due and sleeps again. It does not wake for each
// echo: echoes are timed by the kernel when they arrive (SO_TIMESTAMPNS), so
// reading them up to a tick later changes no latency, and waking for each
// cost more CPU and more context switches (at 19,000 connections,
// BenchmarkAgentEfficiency: 19-23% of a CPU ticking, mean 21% over 6 runs,
// against 21-26%, mean 24% over 4, waking per echo).
//
// With less than a message a tick to send and nothing connecting, ticking
// is waste: it sleeps until the next timer or a socket's readiness instead
// (idle). At a message a minute a 1 ms tick cost 3.8% of a CPU per agent
// whatever it held, and the scale profile's 101 agents more than the
// machine's two CPUs, starving the model's accepts.
//
// Its state is grouped by concern in the embedded structs below (the
// descriptors it polls, its tick clock, its slots, its ramp, its counts,
// the window in progress, its buffers); their fields are promoted, so the
// loop reads a.open, a.target, a.rampPauses as before.
type agent struct {
	cfg   AgentConfig
	start time.Time
	pollFDs
	tickClock
	slotTable
	rampState
	agentCounts
	windowMark
	hostile hostileState
	buffers
}

// pollFDs are the descriptors the loop sleeps on and the events it takes.
type pollFDs struct {
	epfd   int // the connections
	ctlfd  int // the command eventfd alone: the ticking loop sleeps on this
	idlefd int // the eventfd and epfd: the idle loop sleeps on this
	evfd   int
	events []unix.EpollEvent
}

// tickClock is the agent's grid of ticks and its clock's offset from the
// kernel's receive stamps.
type tickClock struct {
	// quantum is the tick: the grid sends are rounded onto (quantumFor).
	quantum int64
	// tickOffset places this agent's ticks within the quantum, so that
	// agents sharing a CPU do not all wake at the same instant.
	tickOffset int64
	// wallOffset is wall-clock ns minus agent-clock ns, refreshed every
	// tick, to bring the kernel's wall-clock receive stamps onto the
	// agent's monotonic clock.
	wallOffset int64
}

// slotTable is the connections the target asks for, by slot, and their
// timers.
type slotTable struct {
	conns    []conn
	fdSlot   []int32 // fd → slot
	timers   timerHeap
	target   int
	nextOpen int // lowest slot that may be idle
}

// rampState is how far the current ramp has got and what holds it back.
type rampState struct {
	rampStart  int64
	rampOpened int
	rampHeld   int // open as the ramp began
	// rampPaused is how long the ramp has waited for the agent to catch
	// up with its sends (pauseLagDiv), rampPauseUntil when it may go on.
	rampPaused, rampPauseUntil int64
	rampPauses                 int64 // ticks paused, cumulative
	clientBlocked              int64 // ns until which opening pauses after a client resource failure
}

// agentCounts is what the agent counts between statuses: the levels and
// cumulative counts a Status reports (results.SwarmCounters), the worst
// lag and the latencies since the last status.
type agentCounts struct {
	open, connecting, sustained int
	opened, sent, echoed        int64
	failures, clientFailures    map[string]int64
	lagMax                      int64
	unstamped                   int64 // echoes timed at read time: no plausible kernel stamp
	wakes                       int64
	hist                        *hdr.Histogram
}

// windowMark is the evaluation window in progress and the target command
// the next status answers.
type windowMark struct {
	window      int // the evaluation window in progress (0: none yet)
	windowStart int64
	acked       int // the target command the next status answers
}

// buffers are the status encoder and the buffers reads and writes reuse.
type buffers struct {
	out  *json.Encoder
	rbuf []byte
	wbuf []byte
	recv stampedReader
}

func (a *agent) now() int64 { return int64(time.Since(a.start)) }

// RunAgent runs one agent until its command stream ends. It raises its own
// open-files soft limit to the hard limit, since holding sockets is its job.
func RunAgent(cfg AgentConfig, commands io.Reader, status io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = time.Second
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		switch {
		case cfg.NoFile > 0:
			lim = unix.Rlimit{Cur: uint64(cfg.NoFile), Max: uint64(cfg.NoFile)}
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				return fmt.Errorf("agent: lower open-files limit to %d: %w", cfg.NoFile, err)
			}
		case lim.Cur < lim.Max:
			lim.Cur = lim.Max
			_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) // best effort: the runner sized agents by the limit it read
		}
	}

	// The loop must never wait for the runtime. Pinned to one CPU, Go runs
	// with one P, and a garbage collection takes that P from the loop for
	// milliseconds (seen: the send schedule slipping 30-70 ms every ~3 s at
	// 40,000 connections). The agent's live heap is a few MiB and its only
	// garbage the per-second status, so a high GC target makes collections
	// rare. (A second P was worse: p99 8.3 ms against 4.9 ms at 19,000
	// connections, its threads contending for the one CPU.)
	debug.SetGCPercent(1000)

	// Make the Go runtime set up its poller now: done lazily, it would need
	// descriptors just when the agent has used them all for connections,
	// and the runtime dies when it cannot get them.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}

	runtime.LockOSThread()
	a := &agent{
		cfg: cfg, start: time.Now(),
		tickClock:   tickClock{quantum: quantumFor(cfg.Interval, cfg.Deadline)},
		agentCounts: agentCounts{failures: map[string]int64{}, clientFailures: map[string]int64{}, hist: NewHist()},
		hostile:     hostileState{failures: map[string]int64{}},
		buffers:     buffers{out: json.NewEncoder(status), rbuf: make([]byte, 64<<10), wbuf: make([]byte, cfg.MsgSize)},
		pollFDs:     pollFDs{events: make([]unix.EpollEvent, 1024)},
		slotTable:   slotTable{fdSlot: make([]int32, lim.Cur+16)},
	}
	a.tickOffset = int64(frac(float64(cfg.Index)*goldenRatio) * float64(a.quantum))
	a.recv.init(a.rbuf)
	var err error
	if a.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("agent: epoll_create: %w", err)
	}
	if a.evfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fmt.Errorf("agent: eventfd: %w", err)
	}
	if a.ctlfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("agent: epoll_create: %w", err)
	}
	if err := unix.EpollCtl(a.ctlfd, unix.EPOLL_CTL_ADD, a.evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(a.evfd)}); err != nil {
		return fmt.Errorf("agent: watch eventfd: %w", err)
	}
	if a.idlefd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("agent: epoll_create: %w", err)
	}
	for _, fd := range []int{a.evfd, a.epfd} {
		if err := unix.EpollCtl(a.idlefd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return fmt.Errorf("agent: watch for idle wake-ups: %w", err)
		}
	}

	cmds := make(chan Command, 16)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(commands)
		for sc.Scan() {
			c, err := ParseCommand(sc.Bytes())
			if err != nil {
				readErr <- fmt.Errorf("agent: %w", err)
				break
			}
			cmds <- c
			a.wake()
		}
		close(cmds)
		a.wake()
	}()

	err = a.loop(cmds)
	select {
	case e := <-readErr:
		err = errors.Join(err, e)
	default:
	}
	a.closeAll()
	a.emit(err)
	return err
}

func (a *agent) wake() {
	one := [8]byte{1}
	unix.Write(a.evfd, one[:])
}

func (a *agent) loop(cmds <-chan Command) error {
	every := int64(a.cfg.StatusEvery)
	nextStatus := every
	more := false // the last poll filled the event buffer: poll again now
	for {
		now := a.now()
		a.openMore(now)
		if !more {
			fd := a.ctlfd
			if a.idle() {
				fd = a.idlefd
			}
			woken, err := epollWait(fd, a.events[:1], a.wait(now, nextStatus, fd == a.idlefd))
			a.wakes++
			if err != nil && err != unix.EINTR {
				return fmt.Errorf("agent: epoll_wait: %w", err)
			}
			if woken > 0 && int(a.events[0].Fd) == a.evfd { // a command came: reset the eventfd
				var b [8]byte
				unix.Read(a.evfd, b[:])
			}
		}
		a.wallOffset = time.Now().UnixNano() - a.now()
		n, err := epollWait(a.epfd, a.events, 0)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("agent: epoll_wait: %w", err)
		}
		more = n == len(a.events)
		for _, ev := range a.events[:n] {
			a.handle(int(ev.Fd), ev.Events)
		}
		now = a.now()
		a.runTimers(now)
		for done := false; !done; {
			select {
			case c, ok := <-cmds:
				if !ok {
					return nil
				}
				a.command(c, a.now())
			default:
				done = true
			}
		}
		if now >= nextStatus {
			a.emit(nil)
			for nextStatus <= now {
				nextStatus += every
			}
		}
	}
}

// wait is how long the loop may sleep: until the next tick (none when
// idle), or sooner if a timer or the status is due before it (or overdue).
func (a *agent) wait(now, nextStatus int64, idle bool) time.Duration {
	until := nextStatus
	if !idle {
		until = min(until, a.nextTick(now))
	}
	if len(a.timers) > 0 {
		until = min(until, a.timers[0].at)
	}
	return time.Duration(max(until-now, 0))
}

// nextTick is the first tick of this agent's grid after now.
func (a *agent) nextTick(now int64) int64 {
	if now < a.tickOffset {
		return a.tickOffset
	}
	return a.tickOffset + ((now-a.tickOffset)/a.quantum+1)*a.quantum
}

// idle reports whether ticking would be waste: nothing is connecting or
// waiting to be opened, and the connections open make less than a message
// a tick. Echoes, resets and commands then wake the loop themselves.
func (a *agent) idle() bool {
	return a.connecting == 0 && !a.wantsToOpen() && int64(a.open)*a.quantum < int64(a.cfg.Interval)
}

// quantumFor is the tick for an interval and a deadline: a thousandth of
// the interval, so a message a second ticks every millisecond as before,
// but at most a twentieth of the deadline, and never under 1 ms. Sends are
// scheduled on the grid, so it delays none; it sets how often a ticking
// agent wakes, how many messages it sends at once (a thousandth of its
// connections), and how late past its deadline a missing echo is noticed.
//
// When the interval is many deadlines long (the scale profile: a message
// a minute within a second) a connection is quiet nearly all the time, and
// what a tick costs matters more than the batch it sends: among 101 agents
// on one CPU a wake-up costs about 85 µs (the runtime hands the loop's P
// over and back around each wait, and the CPU switches between 101
// processes). Holding 60,000 connections, 101 agents ticking every 50 ms
// took 0.256 of a CPU, every 250 ms 0.120 (six agents: 0.054), and the
// ramp's CPU per connection fell from 113 to 71 µs (six agents: 67). So
// the tick is then a quarter of the deadline, at most a 240th of the
// interval: a batch of at most a 240th of the agent's connections (83 of
// 20,000), and echoes are still timed by the kernel's stamps.
func quantumFor(interval, deadline time.Duration) int64 {
	q := min(interval/1000, deadline/20)
	if interval >= quietIntervals*deadline {
		q = min(interval/240, deadline/4)
	}
	return int64(max(q, time.Millisecond))
}

// quietIntervals: an interval this many deadlines long or more ticks by
// the deadline (quantumFor).
const quietIntervals = 10

// wantsToOpen: slots below nextOpen that failed are retried only when a new
// target is set, so a refusing server is not hammered within a step.
func (a *agent) wantsToOpen() bool {
	return a.nextOpen < len(a.conns) && a.open+a.connecting < a.target && a.connecting < a.cfg.MaxInFlight
}

func (a *agent) command(c Command, now int64) {
	switch {
	case c.Window > 0:
		a.window, a.windowStart = c.Window, now
		a.emitStatus(nil, 0, c.Window)
	case c.Evaluate > 0:
		a.emitStatus(nil, c.Evaluate, 0)
	case c.Report > 0:
		a.acked = c.Report
		a.emitStatus(nil, 0, 0)
	default:
		a.setTargets(c.Target, c.Hostile, c.HostileKind, now)
		if c.Seq > 0 {
			a.openMore(now) // the answer shows the ramp begun
			a.acked = c.Seq
			a.emitStatus(nil, 0, 0)
		}
	}
}

// fresh counts the well-behaved open connections not yet due an echo:
// those that have sent nothing, and those whose first message went out
// under a freshDiv-th of the deadline ago. A step settles when every open
// connection is sustained or fresh; counting only the silent ones, a
// step settled only once the last connection of its ramp had its first
// echo, up to an interval after the ramp (1 s at the default profile, in
// 85 of the 129 held steps of run 20261203-202001), because at any moment
// a few first messages were on their way (16,000 opening a second, each
// echoed in a fraction of a millisecond). A model that is slow to accept
// or to echo keeps its first messages waiting past the threshold, and the
// settle goes on for it as before. A scan once a status: 20,000 slots
// take microseconds.
func (a *agent) fresh() int {
	now, young := a.now(), int64(a.cfg.Deadline)/freshDiv
	n := 0
	for i := range a.conns {
		c := &a.conns[i]
		if c.state != stateOpen || c.hostile {
			continue
		}
		if c.seq == 0 || c.seq == 1 && c.rseq == 0 && now-c.base < young {
			n++
		}
	}
	return n
}

// freshDiv: a first message out for less than this part of the deadline is
// not yet due (fresh): a twentieth, 50 ms at the default deadline of 1 s,
// where a model that keeps up echoes in well under a millisecond (the
// median of the held steps' p50 in run 20261203-202001: 0.3 ms).
const freshDiv = 20

// windowSustained counts the connections sustained through the window in
// progress: open since before it began, no deadline missed since, at least
// one echo back on time in it, and none overdue now.
func (a *agent) windowSustained(now int64) int {
	if a.window == 0 {
		return 0
	}
	interval, deadline := int64(a.cfg.Interval), int64(a.cfg.Deadline)
	n := 0
	for i := range a.conns {
		c := &a.conns[i]
		if c.state != stateOpen || c.hostile || !c.ok || c.clean > a.windowStart || c.lastOK < a.windowStart {
			continue
		}
		if c.rseq < c.seq && now-(c.base+int64(c.rseq)*interval) > deadline {
			continue // the message in flight is past its deadline already
		}
		n++
	}
	return n
}

func (a *agent) setTarget(n int, now int64) {
	a.target = n
	if n > len(a.conns) {
		a.conns = append(a.conns, make([]conn, n-len(a.conns))...)
	}
	// Shrinking closes the highest slots.
	for i := n; i < len(a.conns); i++ {
		if a.conns[i].state != stateIdle {
			a.closeConn(int32(i))
		}
	}
	a.conns = a.conns[:n]
	a.nextOpen = 0
	a.rampStart = now
	a.rampOpened = 0
	a.rampHeld = a.open
	a.rampPaused, a.rampPauseUntil = 0, 0
}

// openMore starts connects allowed by the rate since the target was set.
func (a *agent) openMore(now int64) {
	if !a.wantsToOpen() || now < a.clientBlocked {
		return
	}
	ramp := Ramp{Rate: a.cfg.Rate, Doubling: a.cfg.RampDoubling, From: a.cfg.RampFrom}
	if now < a.rampPauseUntil {
		return
	}
	allowed := ramp.Allowed(a.rampHeld, time.Duration(now-a.rampStart-a.rampPaused)) + 1 - a.rampOpened
	for ; allowed > 0 && a.wantsToOpen() && a.nextOpen < len(a.conns); a.nextOpen++ {
		if a.conns[a.nextOpen].state != stateIdle {
			continue
		}
		if !a.connect(int32(a.nextOpen), now) {
			return
		}
		allowed--
		a.rampOpened++
	}
}

// srcAddr spreads connections over source addresses, 1000 per address, so
// that even with the default ephemeral port range no address runs short of
// ports: agent i uses 127.(16+i).x.y. Given its own addresses (Src), it
// deals slots out over them; toward a target off loopback without them it
// binds none (false) and the route picks the address.
func (a *agent) srcAddr(slot int32) ([4]byte, bool) {
	if a.cfg.Src.IsValid() {
		b := a.cfg.Src.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v += uint32(int(slot) % a.cfg.SrcCount)
		return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}, true
	}
	if !a.cfg.Addr.Addr().IsLoopback() {
		return [4]byte{}, false
	}
	k := int(slot) / 1000
	return [4]byte{127, byte(16 + a.cfg.Index), byte(k / 250), byte(k%250 + 1)}, true
}

// connect starts a non-blocking connect for slot. It returns false when the
// agent itself is out of a resource and should stop opening for now.
func (a *agent) connect(slot int32, now int64) bool {
	fd, err := rawSocket()
	if err != nil {
		a.clientFail(slot, results.PhaseSocket, err, now)
		return false
	}
	fail := func(phase string, err error) bool {
		rawClose(fd)
		if isClientErrno(err) {
			a.clientFail(slot, phase, err, now)
			return false
		}
		a.fail(slot, phase, err)
		return true
	}
	// Let connect() pick the port, so ports are unique per 4-tuple rather
	// than per source address.
	if err := rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		return fail(results.PhaseSocket, err)
	}
	// The kernel stamps each echo with its arrival time; see agent.
	if err := rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail(results.PhaseSocket, err)
	}
	if src, ok := a.srcAddr(slot); ok {
		if err := rawSockaddr(unix.SYS_BIND, fd, src, 0); err != nil {
			return fail(results.PhaseBind, err)
		}
	}
	if err := rawSockaddr(unix.SYS_CONNECT, fd, a.cfg.Addr.Addr().As4(), a.cfg.Addr.Port()); err != nil && err != unix.EINPROGRESS {
		return fail(results.PhaseConnect, err)
	}
	if err := rawEpollCtl(a.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}); err != nil {
		return fail(results.PhaseSocket, err)
	}
	c := &a.conns[slot]
	c.fd = int32(fd)
	c.state = stateConnecting
	c.ok = false
	a.fdSlot[fd] = slot
	a.connecting++
	heap.Push(&a.timers, timer{at: now + int64(a.cfg.ConnectTimeout), slot: slot, gen: c.gen, kind: timerConnect})
	return true
}

// isClientErrno reports errors that mean the agent, not the server, ran out
// of something.
func isClientErrno(err error) bool {
	switch {
	case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOBUFS),
		errors.Is(err, unix.ENOMEM), errors.Is(err, unix.EADDRNOTAVAIL), errors.Is(err, unix.EADDRINUSE),
		errors.Is(err, unix.EAGAIN):
		return true
	}
	return false
}

func errnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		if s := unix.ErrnoName(en); s != "" {
			return s
		}
		return fmt.Sprintf("errno%d", int(en))
	}
	if err == io.EOF {
		return "EOF"
	}
	return "other"
}

// fail counts a failure of slot's connection: against the server for a
// well-behaved connection, apart for a hostile one, whose misbehaviour
// provokes it.
func (a *agent) fail(slot int32, phase string, err error) {
	key := results.FailKey{Phase: phase}
	if err != nil {
		key.Errno = errnoName(err)
	}
	if a.conns[slot].hostile {
		a.hostile.failures[key.String()]++
		return
	}
	a.failures[key.String()]++
}

// clientFail counts the agent's own resource failure and pauses opening
// briefly instead of hammering the exhausted resource.
func (a *agent) clientFail(slot int32, phase string, err error, now int64) {
	if a.conns[slot].hostile {
		// A hostile slot's own shortage (churn can exhaust ports) is its
		// kind's doing: counted with its failures, the swarm not blocked.
		a.hostile.failures[results.FailKey{Phase: phase, Errno: errnoName(err)}.Client()]++
		return
	}
	a.clientFailures[results.FailKey{Phase: phase, Errno: errnoName(err)}.String()]++
	a.clientBlocked = now + int64(100*time.Millisecond)
}

func (a *agent) handle(fd int, events uint32) {
	if fd >= len(a.fdSlot) {
		return
	}
	slot := a.fdSlot[fd]
	if int(slot) >= len(a.conns) {
		return
	}
	c := &a.conns[slot]
	if c.fd != int32(fd) {
		return
	}
	switch c.state {
	case stateConnecting:
		a.connected(slot, c)
	case stateOpen:
		a.read(slot, c)
	}
}

// connectDone reports whether a non-blocking connect has finished, well
// or not: the socket is writable or has an error.
func connectDone(fd int32) bool {
	pfd := []unix.PollFd{{Fd: fd, Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLOUT|unix.POLLERR|unix.POLLHUP) != 0
}

func (a *agent) connected(slot int32, c *conn) {
	soerr, err := unix.GetsockoptInt(int(c.fd), unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	a.connecting--
	if err != nil {
		if isClientErrno(err) {
			a.clientFail(slot, results.PhaseConnect, err, a.now())
		} else {
			a.fail(slot, results.PhaseConnect, err)
		}
		a.drop(slot, c)
		return
	}
	if err := rawEpollCtl(a.epfd, unix.EPOLL_CTL_MOD, int(c.fd), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.fd}); err != nil {
		a.clientFail(slot, results.PhaseSocket, err, a.now())
		a.drop(slot, c)
		return
	}
	c.state = stateOpen
	a.open++
	a.opened++
	c.gen++ // retire the connect timer
	if c.hostile {
		a.hostileConnected(slot, c)
		return
	}
	c.seq, c.rseq, c.roff, c.missed = 0, 0, 0, 0
	c.clean, c.lastOK = a.now(), 0
	// Phases are spread evenly over the interval by the golden ratio, which
	// stays even for any number of connections opened so far, and rounded
	// down onto the agent's tick grid: the agent wakes once per tick to
	// send a batch, instead of once per message, and still sends each
	// message on time.
	interval := int64(a.cfg.Interval)
	phase := int64(float64(interval) * frac(float64(slot)*goldenRatio))
	phase += a.tickOffset - phase%a.quantum
	now := a.now()
	first := now - (now % interval) + phase
	if first <= now {
		first += interval
	}
	c.base = first
	heap.Push(&a.timers, timer{at: first, slot: slot, gen: c.gen, kind: timerSend})
}

// goldenRatio's fractional part spreads any count of items evenly over [0, 1).
const goldenRatio = 0.6180339887498949

// pauseLagDiv: a send later than a twentieth of the deadline pauses the ramp.
// On loopback a connect costs the agent both ends' handshake (70 µs), and
// at 600,000 connections held the echoes took the rest of its CPU: at a
// fixed 12,000 a second the agents fell 3 s behind and the step was lost.
const pauseLagDiv = 20

func frac(x float64) float64 { return x - float64(int64(x)) }

func (a *agent) runTimers(now int64) {
	for len(a.timers) > 0 && a.timers[0].at <= now {
		t := heap.Pop(&a.timers).(timer)
		if int(t.slot) >= len(a.conns) {
			continue
		}
		c := &a.conns[t.slot]
		if c.gen != t.gen {
			continue
		}
		switch t.kind {
		case timerConnect:
			if c.state == stateConnecting && connectDone(c.fd) {
				// It completed, and the event saying so waits in a poll
				// the loop has not got to: an agent behind, not a server
				// that never answered.
				a.connected(t.slot, c)
			} else if c.state == stateConnecting {
				a.connecting--
				// No SYN-ACK in time: the server's listen queue is full or
				// it is gone.
				a.fail(t.slot, results.PhaseConnect, unix.ETIMEDOUT)
				a.drop(t.slot, c)
			}
		case timerSend:
			if c.state == stateOpen {
				a.send(t.slot, c, t.at, now)
			}
		case timerHostile:
			if c.state == stateOpen {
				a.hostileAct(t.slot, c, now)
			}
		case timerReopen:
			if c.state == stateIdle && a.connecting < a.cfg.MaxInFlight {
				a.connect(t.slot, now)
			}
		}
	}
}

func (a *agent) send(slot int32, c *conn, sched, now int64) {
	lag := now - sched
	if lag > int64(a.cfg.Deadline)/pauseLagDiv && a.wantsToOpen() {
		// Behind on the messages of the connections it holds: opening
		// more now would only make it later. The ramp waits as long as
		// the agent is late, and its clock with it, so that it does not
		// burst to catch up after.
		if until := now + lag; until > a.rampPauseUntil {
			a.rampPaused += until - max(a.rampPauseUntil, now)
			a.rampPauseUntil = until
			a.rampPauses++
		}
	}
	if lag > a.lagMax {
		a.lagMax = lag
	}
	// The previous message should be back by now.
	if c.seq > 0 && c.rseq < c.seq && c.missed < c.seq {
		a.fail(slot, results.PhaseDeadline, nil)
		c.missed = c.seq
		c.clean = now
		a.setOK(c, false)
	}
	for i := range a.wbuf {
		a.wbuf[i] = msgByte(uint32(slot), c.seq, i)
	}
	n, err := rawWrite(int(c.fd), a.wbuf)
	switch {
	case err == unix.EAGAIN || (err == nil && n < len(a.wbuf)):
		// The send buffer is full: the server stopped reading long ago.
		a.fail(slot, results.PhaseWrite, unix.EAGAIN)
		a.closeConn(slot)
		return
	case err != nil:
		a.fail(slot, results.PhaseWrite, err)
		a.closeConn(slot)
		return
	}
	a.sent++
	c.seq++
	heap.Push(&a.timers, timer{at: c.base + int64(c.seq)*int64(a.cfg.Interval), slot: slot, gen: c.gen, kind: timerSend})
}

func (a *agent) read(slot int32, c *conn) {
	if c.hostile {
		a.hostileRead(slot, c)
		return
	}
	n, stamp, err := a.recv.read(int(c.fd))
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		a.fail(slot, results.PhaseRead, err)
		a.closeConn(slot)
		return
	case n == 0:
		a.fail(slot, results.PhaseRead, io.EOF) // the server closed the connection
		a.closeConn(slot)
		return
	}
	// The echo arrived when the kernel stamped it, not when this loop got
	// to it: the agent's own delays are not the server's latency. The
	// stamp is used only if it is plausible: not before the first message
	// completed here was scheduled (sends are never early), not after now.
	// The kernel can hand over a stamp on another clock (seen on loopback
	// while timestamping is being switched on), and a wall-clock step
	// skews one; then the read time stands, which errs on the server's
	// side.
	arrived, stamped := a.now(), false
	if t := stamp - a.wallOffset; stamp > 0 && t <= arrived && t >= c.base+int64(c.rseq)*int64(a.cfg.Interval) {
		arrived, stamped = t, true
	}
	size := int32(a.cfg.MsgSize)
	for _, b := range a.rbuf[:n] {
		if c.rseq >= c.seq || b != msgByte(uint32(slot), c.rseq, int(c.roff)) {
			a.fail(slot, results.PhaseMismatch, nil)
			a.closeConn(slot)
			return
		}
		c.roff++
		if c.roff < size {
			continue
		}
		lat := arrived - (c.base + int64(c.rseq)*int64(a.cfg.Interval))
		a.hist.RecordValue(max(lat/1000, 1))
		a.echoed++
		if !stamped {
			a.unstamped++
		}
		if lat <= int64(a.cfg.Deadline) {
			c.lastOK = arrived
			a.setOK(c, true)
		} else if c.missed <= c.rseq {
			a.fail(slot, results.PhaseDeadline, nil)
			c.missed = c.rseq + 1
			c.clean = arrived
			a.setOK(c, false)
		}
		c.rseq++
		c.roff = 0
	}
}

func (a *agent) setOK(c *conn, ok bool) {
	if c.ok == ok {
		return
	}
	c.ok = ok
	if ok {
		a.sustained++
	} else {
		a.sustained--
	}
}

// drop closes a connection that never opened.
func (a *agent) drop(slot int32, c *conn) {
	rawClose(int(c.fd))
	c.state = stateIdle
	c.gen++
	c.fd = -1
}

func (a *agent) closeConn(slot int32) {
	c := &a.conns[slot]
	switch c.state {
	case stateConnecting:
		a.connecting--
	case stateOpen:
		a.open--
		a.setOK(c, false)
		if c.hostile {
			a.hostile.open--
		}
	default:
		return
	}
	a.drop(slot, c)
	if c.hostile {
		a.hostileEnded(slot)
	}
}

// closeAll ends every connection as the agent stops, with a reset rather
// than a FIN: nothing is measured any more, and a reset spares the kernel
// the closing handshake and a TIME_WAIT socket per connection. Closing
// 1,665,329 connections with FINs took 66 s before the next model could
// start.
func (a *agent) closeAll() {
	rst := &unix.Linger{Onoff: 1, Linger: 0}
	for i := range a.conns {
		if c := &a.conns[i]; c.state != stateIdle {
			unix.SetsockoptLinger(int(c.fd), unix.SOL_SOCKET, unix.SO_LINGER, rst)
		}
		a.closeConn(int32(i))
	}
}

func (a *agent) emit(stopErr error) { a.emitStatus(stopErr, 0, 0) }

// emitStatus sends a status; evaluated, when positive, ends that window
// and counts what it sustained; opened says the window that starts now.
func (a *agent) emitStatus(stopErr error, evaluated, opened int) {
	st := Status{
		Agent: a.cfg.Index, Time: time.Now(), Target: a.target,
		SwarmCounters: results.SwarmCounters{
			Open: a.open - a.hostile.open, Connecting: a.connecting, Sustained: a.sustained, Fresh: a.fresh(),
			Sent: a.sent, Echoed: a.echoed, Unstamped: a.unstamped,
			Failures: a.failures, ClientFailures: a.clientFailures,
			RampPauses: a.rampPauses, Unattempted: max(len(a.conns)-a.nextOpen, 0),
		},
		Opened: a.opened, LagMaxMs: float64(a.lagMax) / 1e6, Wakes: a.wakes,
	}
	st.WindowOpened = opened
	st.Acked, a.acked = a.acked, 0
	if a.hostile.kind != "" {
		st.Hostile = &results.Hostile{Kind: a.hostile.kind, Offered: a.hostile.target, Open: a.hostile.open,
			Cycles: a.hostile.cycles, Failures: a.hostile.failures}
	}
	if evaluated > 0 {
		st.Evaluated = evaluated
		if evaluated == a.window {
			st.WindowSustained = a.windowSustained(a.now())
		}
	}
	if stopErr != nil {
		st.Err = stopErr.Error()
	}
	if a.hist.TotalCount() > 0 {
		if b, err := a.hist.Encode(hdr.V2CompressedEncodingCookieBase); err == nil {
			st.Hist = b
		}
	}
	// The runner reading our stdout is gone if this fails; the command
	// stream will end too and the loop with it.
	_ = a.out.Encode(st)
	a.hist.Reset()
	a.lagMax = 0
}
