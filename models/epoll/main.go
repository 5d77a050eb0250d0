// Command epoll is the raw reactor model: non-blocking sockets and one
// level-triggered epoll loop per C10K_LOOPS (default 1), each locked to its
// own OS thread, on golang.org/x/sys/unix with no framework in between.
package main

import (
	"errors"
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
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	// One P per loop, each held through its raw epoll_wait (see
	// epollWait), and one more for the reporter and the signal handler.
	runtime.GOMAXPROCS(cfg.Loops + 1)

	var live atomic.Int64
	loops := make([]*loop, cfg.Loops)
	for i := range loops {
		l, err := newLoop(lfd, rep, &live)
		if err != nil {
			modelkit.Fatal(model, err)
		}
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
}

type loop struct {
	epfd, lfd, evfd int
	rep             *modelkit.Reporter
	live            *atomic.Int64
	conns           map[int]*conn
	buf             []byte
	pausedUntil     time.Time
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
		l.conns[fd] = &conn{}
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
		l.close(fd)
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
	if err := l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN); err != nil {
		l.close(fd)
	}
}

func (l *loop) close(fd int) {
	unix.Close(fd) // closing also removes fd from the epoll set
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
