// Command epoll is the raw reactor model: non-blocking sockets and one
// level-triggered epoll loop per C10K_LOOPS (default 1), each locked to its
// own OS thread, on golang.org/x/sys/unix with no framework in between.
//
// With C10K_WORK the loop does each request's cpu= and block= itself and
// waits wait= on a timer of its own (work.go); the preset pool
// (C10K_PRESET=pool) hands cpu= and block= to a bounded goroutine pool
// instead (pool.go).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const model = "epoll"

const (
	readBuf     = 64 << 10
	acceptBatch = 256
	// After accept fails for lack of a resource, the listener leaves the
	// epoll set for this long; level-triggered, it would otherwise spin.
	acceptPause = 100 * time.Millisecond
)

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	lfd, err := modelkit.ListenFD(cfg, true)
	if err != nil {
		modelkit.Fatal(model, err)
	}
	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	var p *pool
	switch cfg.Preset {
	case "":
	case PresetPool:
		size, err := modelkit.IntEnv(EnvPool, DefaultPool)
		if err != nil {
			modelkit.Fatal(model, err)
		}
		if size < 1 {
			modelkit.Fatal(model, fmt.Errorf("%s=%d: want at least one worker", EnvPool, size))
		}
		if !work.None() {
			p = newPool(size, work)
		}
	default:
		modelkit.Fatal(model, fmt.Errorf("%s=%q: unknown preset (known: %s)", modelkit.EnvPreset, cfg.Preset, PresetPool))
	}
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	// One P per loop, each held through its raw epoll_wait (see
	// epollWait), and one more for the reporter and the signal handler.
	// The pool's workers get one more per CPU the process may use, so
	// cpu= runs on every CPU it is given (one, when the runner pins it);
	// a worker asleep in block= gives its P back (see modelkit.Block).
	procs := cfg.Loops + 1
	if p != nil {
		procs += runtime.NumCPU()
	}
	runtime.GOMAXPROCS(procs)

	var live atomic.Int64
	loops := make([]*loop, cfg.Loops)
	for i := range loops {
		l, err := newLoop(lfd, rep, &live)
		if err != nil {
			modelkit.Fatal(model, err)
		}
		l.work, l.pool = work, p
		loops[i] = l
	}

	sigs := make(chan struct{})
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		close(sigs)
		for _, l := range loops {
			l.wake()
		}
	}()

	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.run(sigs); err != nil {
				modelkit.Fatal(model, err)
			}
		}()
	}
	wg.Wait()
}

// conn is one client connection. out holds bytes read but not yet written
// back; while it is non-empty the loop stops reading from the connection,
// so a client that does not read its echoes is slowed by TCP flow control
// instead of growing the server's memory.
type conn struct {
	out []byte
	// With work (work.go): the requests in order, the one in progress
	// (busy: in its wait, or in the pool), whether the client has
	// half-closed, and the events asked for.
	fr     *modelkit.Framer
	queue  [][]byte
	busy   bool
	eof    bool
	closed bool
	events uint32
}

type loop struct {
	epfd, lfd, evfd int
	rep             *modelkit.Reporter
	live            *atomic.Int64
	conns           map[int]*conn
	buf             []byte
	pausedUntil     time.Time

	work   modelkit.Work // C10K_WORK; none: a pure echo
	timers timerHeap     // requests in their wait, soonest first
	pool   *pool         // the pool preset's workers; nil: the loop works
	doneMu sync.Mutex
	done   []job // requests the pool has worked, for the loop to go on with
}

func newLoop(lfd int, rep *modelkit.Reporter, live *atomic.Int64) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{epfd: epfd, lfd: lfd, evfd: evfd, rep: rep, live: live,
		conns: map[int]*conn{}, buf: make([]byte, readBuf)}
	if err := l.ctl(unix.EPOLL_CTL_ADD, evfd, unix.EPOLLIN); err != nil {
		return nil, err
	}
	// EPOLLEXCLUSIVE: with several loops, wake one per new connection.
	if err := l.ctl(unix.EPOLL_CTL_ADD, lfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *loop) ctl(op, fd int, events uint32) error {
	return unix.EpollCtl(l.epfd, op, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)})
}

func (l *loop) wake() {
	var one = [8]byte{1}
	unix.Write(l.evfd, one[:])
}

func (l *loop) run(stop <-chan struct{}) error {
	runtime.LockOSThread()
	events := make([]unix.EpollEvent, 1024)
	for {
		timeout := -1
		if !l.pausedUntil.IsZero() {
			timeout = max(int(time.Until(l.pausedUntil).Milliseconds()), 0)
		}
		if len(l.timers) > 0 {
			// Rounded up: woken early, the loop would only spin until due.
			ms := int((time.Until(l.timers[0].due) + time.Millisecond - 1) / time.Millisecond)
			if timeout < 0 || ms < timeout {
				timeout = max(ms, 0)
			}
		}
		n, err := epollWait(l.epfd, events, timeout)
		if err != nil && err != unix.EINTR {
			return err
		}
		select {
		case <-stop:
			l.closeAll()
			return nil
		default:
		}
		if !l.pausedUntil.IsZero() && !time.Now().Before(l.pausedUntil) {
			l.pausedUntil = time.Time{}
			if err := l.ctl(unix.EPOLL_CTL_ADD, l.lfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err != nil {
				return err
			}
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			ev := events[i].Events
			switch {
			case fd == l.evfd:
				l.drainDone()
				continue
			case fd == l.lfd:
				l.accept()
			default:
				c := l.conns[fd]
				if c == nil {
					continue
				}
				if ev&unix.EPOLLOUT != 0 {
					l.flush(fd, c)
				} else if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					l.read(fd, c)
				}
			}
		}
		l.fireTimers()
	}
}

func (l *loop) accept() {
	for i := 0; i < acceptBatch; i++ {
		fd, _, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			switch {
			case err == unix.EAGAIN, err == unix.EINTR:
			case errors.Is(err, unix.ECONNABORTED):
				l.rep.Report(modelkit.KindAccept, err, l.live.Load())
				continue
			default:
				// EMFILE, ENFILE, ENOBUFS, ENOMEM: out of a resource.
				l.rep.Report(modelkit.KindAccept, err, l.live.Load())
				if l.ctl(unix.EPOLL_CTL_DEL, l.lfd, 0) == nil {
					l.pausedUntil = time.Now().Add(acceptPause)
				}
			}
			return
		}
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN); err != nil {
			l.rep.Report(modelkit.KindAccept, err, l.live.Load())
			unix.Close(fd)
			continue
		}
		c := &conn{events: unix.EPOLLIN}
		if !l.work.None() {
			c.fr = modelkit.NewFramer(l.work.Size)
		}
		l.conns[fd] = c
		l.live.Add(1)
	}
}

func (l *loop) read(fd int, c *conn) {
	n, err := unix.Read(fd, l.buf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		l.rep.Report(modelkit.KindRead, err, l.live.Load())
		l.close(fd)
		return
	case n == 0: // the peer half-closed; nothing is pending (we only read when out is empty)
		if c.fr != nil {
			c.eof = true // but requests may be: advance finishes them first
			l.advance(fd, c)
			return
		}
		l.close(fd)
		return
	}
	if c.fr != nil {
		c.queue = append(c.queue, c.fr.Feed(l.buf[:n])...)
		l.advance(fd, c)
		return
	}
	w, err := unix.Write(fd, l.buf[:n])
	if err != nil && err != unix.EAGAIN {
		l.rep.Report(modelkit.KindWrite, err, l.live.Load())
		l.close(fd)
		return
	}
	w = max(w, 0)
	if w < n {
		c.out = append(c.out[:0], l.buf[w:n]...)
		if err := l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLOUT); err != nil {
			l.close(fd)
		}
	}
}

func (l *loop) flush(fd int, c *conn) {
	w, err := unix.Write(fd, c.out)
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		l.rep.Report(modelkit.KindWrite, err, l.live.Load())
		l.close(fd)
		return
	}
	c.out = c.out[w:]
	if len(c.out) > 0 {
		return
	}
	c.out = nil
	if c.fr != nil {
		l.advance(fd, c)
		return
	}
	if err := l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN); err != nil {
		l.close(fd)
	}
}

func (l *loop) close(fd int) {
	unix.Close(fd) // closing also removes fd from the epoll set
	if c := l.conns[fd]; c != nil {
		c.closed = true // its timer or pool job, if any, finds it closed
	}
	delete(l.conns, fd)
	l.live.Add(-1)
}

func (l *loop) closeAll() {
	for fd := range l.conns {
		l.close(fd)
	}
}

// epollWait is epoll_wait(2) as a raw system call. With the ordinary call
// the Go runtime hands the loop's P to another thread whenever the wait
// lasts over 20 µs, and under load that hand-off runs thousands of times a
// second (measured at 40,000 connections: a second thread per process
// with ~5,000 time slices a second competing with the loop for its one
// CPU). A raw call keeps the P with the loop, as a C reactor's thread
// simply blocks; main gives the other goroutines a P of their own. The
// timeout is capped so that the runtime still gets the loop's thread back
// now and then (it preempts a goroutine that seems to run for 10 ms, which
// here interrupts the wait with EINTR).
func epollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	if msec < 0 || msec > maxWaitMs {
		msec = maxWaitMs
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

const maxWaitMs = 100
