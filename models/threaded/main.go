// Command threaded is the thread-per-connection model: every accepted
// connection gets a goroutine locked to its own OS thread, which does
// blocking read(2) and write(2) on the connection's blocking descriptor.
// Each open connection therefore holds one kernel thread asleep in the
// kernel, exactly as a C pthread or Python threading server does; Go's
// netpoller is never involved.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const model = "threaded"

// bufSize is the per-connection read buffer, the size a C server would put
// on its thread's stack.
const bufSize = 4096

// threadProcs is the default GOMAXPROCS (see main).
const threadProcs = 256

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	tc, err := threadCapFromEnv()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	if tc.set {
		debug.SetMaxThreads(tc.max)
	}
	// A thread woken by the kernel must run Go code, which needs one of
	// GOMAXPROCS Ps. Pinned to one CPU, Go would have one P, and every woken
	// thread would queue for it: a serialisation a C thread-per-connection
	// server does not have (measured here: p99 1.7 s at 15,000 connections
	// with one P, 12 ms with 64). So the default is many Ps, and the kernel
	// schedules the threads, as it would a C server's; GOMAXPROCS overrides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(threadProcs)
	}
	// One line on stderr so a later "thread exhaustion" abort can be read
	// against the cap that was in force.
	fmt.Fprintf(os.Stderr, "%s: Go thread cap %d (%s)\n", model, tc.max, tc.why)

	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	lfd, err := modelkit.ListenFD(cfg, false) // blocking: accept(2) sleeps in the kernel
	if err != nil {
		modelkit.Fatal(model, err)
	}
	rep := modelkit.NewReporter(model, cfg)
	s := &server{lfd: lfd, rep: rep, work: work, conns: map[int]struct{}{}}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		s.stop()
		rep.Close()
		// Threads blocked in read(2) need not be waited for: exit_group
		// ends every thread of the process at once.
		os.Exit(0)
	}()
	s.acceptLoop()
	// Only reached if the listener itself broke; wait for the signal path.
	select {}
}

type server struct {
	lfd  int
	rep  *modelkit.Reporter
	work modelkit.Work // C10K_WORK; none: a pure echo

	mu       sync.Mutex
	conns    map[int]struct{} // open connection descriptors
	stopping bool
}

func (s *server) live() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.conns))
}

func (s *server) acceptLoop() {
	var backoff time.Duration
	for {
		fd, _, err := unix.Accept4(s.lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			switch {
			case err == unix.EINTR:
				continue
			case s.isStopping():
				return
			case err == unix.ECONNABORTED:
				s.rep.Report(modelkit.KindAccept, err, s.live())
				continue
			case err == unix.EBADF || err == unix.EINVAL:
				s.rep.Report(modelkit.KindAccept, err, s.live())
				return
			}
			// EMFILE, ENFILE, ENOBUFS, ENOMEM: out of a resource. Retrying
			// at once would spin; connections closing free it up.
			s.rep.Report(modelkit.KindAccept, err, s.live())
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.track(fd) {
			unix.Close(fd)
			return
		}
		go s.serve(fd)
	}
}

func (s *server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// track registers fd; false when the server is stopping.
func (s *server) track(fd int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.conns[fd] = struct{}{}
	return true
}

// release unregisters fd before closing it, so stop never shuts down a
// descriptor number that has been closed and reused.
func (s *server) release(fd int) {
	s.mu.Lock()
	delete(s.conns, fd)
	s.mu.Unlock()
	unix.Close(fd)
}

// stop wakes the accept loop and every blocked reader: shutdown(2), unlike
// close(2), makes a read or accept already asleep in the kernel return.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	for fd := range s.conns {
		unix.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// serve echoes one connection on a thread of its own. The goroutine never
// unlocks its thread, so when it returns the runtime ends the thread too:
// one connection, one thread, created and destroyed with it.
func (s *server) serve(fd int) {
	runtime.LockOSThread()
	defer s.release(fd)
	var fr *modelkit.Framer
	if !s.work.None() {
		fr = modelkit.NewFramer(s.work.Size)
	}
	echo := func(p []byte) error { return writeAll(fd, p) }
	buf := make([]byte, bufSize)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			s.reportIO(modelkit.KindRead, err)
			return
		case n == 0: // EOF: the client half-closed and everything was echoed
			if fr != nil {
				// but an incomplete request, which goes back as it is
				if err := echo(fr.Rest()); err != nil {
					s.reportIO(modelkit.KindWrite, err)
				}
			}
			return
		}
		if fr == nil {
			err = echo(buf[:n])
		} else {
			// All the work runs on the connection's own thread; wait= is
			// that thread's sleep, which holds nothing but the thread.
			err = modelkit.Serial(fr, s.work, buf[:n], modelkit.Block, echo)
		}
		if err != nil {
			s.reportIO(modelkit.KindWrite, err)
			return
		}
	}
}

// reportIO reports connection errors except the ones stop causes itself.
func (s *server) reportIO(kind string, err error) {
	if s.isStopping() {
		return
	}
	s.rep.Report(kind, err, s.live())
}

// writeAll writes p on a blocking descriptor; write(2) may still return
// short when interrupted by a signal (Go preempts with SIGURG).
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("write returned 0")
		}
		p = p[n:]
	}
	return nil
}
