// Command evio is the tidwall/evio model: C10K_LOOPS event loops (default
// 1), each a goroutine running a level-triggered epoll loop that reads into
// a 64 KiB buffer and calls the Data event, whose return value evio writes
// back, pausing reads until it is all sent.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tidwall/evio"
	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const model = "evio"

const (
	// tickEvery is how often the loop checks for SIGTERM: evio can only be
	// stopped from inside, by an event returning Shutdown.
	tickEvery = 100 * time.Millisecond
	// kindEngine reports that evio stopped serving on its own.
	kindEngine = "engine"
)

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	ap, err := netip.ParseAddrPort(cfg.Addr)
	if err != nil {
		modelkit.Fatal(model, fmt.Errorf("listen address %q: %w (want ip:port)", cfg.Addr, err))
	}
	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	ctx, stop := modelkit.SignalContext()
	defer stop()
	s := &server{cfg: cfg, rep: rep, work: work}
	go func() {
		<-ctx.Done()
		s.stopping.Store(true)
	}()

	events := evio.Events{
		NumLoops:    cfg.Loops,
		LoadBalance: evio.RoundRobin,
		Serving:     s.serving,
		Opened:      s.opened,
		Closed:      s.closed,
		Data:        s.data,
		Tick:        s.tick,
	}
	// evio takes its options in the address; with reuseport it listens
	// through github.com/kavu/go_reuseport, otherwise through net.Listen.
	network := "tcp4"
	if ap.Addr().Is6() {
		network = "tcp6"
	}
	addr := network + "://" + ap.String()
	if cfg.ReusePort {
		addr += "?reuseport=true"
	}
	if err := evio.Serve(events, addr); err != nil {
		modelkit.Fatal(model, fmt.Errorf("serve %s: %w", cfg.Addr, err))
	}
	if !s.stopping.Load() {
		// An event loop returned an error evio does not expose (accept
		// failing with EMFILE is the usual one) and evio shut down.
		msg := fmt.Errorf("evio stopped serving on its own; open fds %s", fdUsage())
		rep.Report(kindEngine, msg, s.live.Load())
		rep.Close()
		fmt.Fprintf(os.Stderr, "%s: %v\n", model, msg)
		os.Exit(1)
	}
}

type server struct {
	cfg      modelkit.Config
	rep      *modelkit.Reporter
	work     modelkit.Work // C10K_WORK; none: a pure echo (work.go)
	live     atomic.Int64
	stopping atomic.Bool
}

func (s *server) serving(srv evio.Server) evio.Action {
	if err := setBacklog(srv.Addrs[0], s.cfg.Backlog); err != nil {
		modelkit.Fatal(model, err)
	}
	return evio.None
}

func (s *server) opened(c evio.Conn) ([]byte, evio.Options, evio.Action) {
	s.live.Add(1)
	if !s.work.None() {
		c.SetContext(&workState{fr: modelkit.NewFramer(s.work.Size)})
	}
	// evio copies what Data returns into the connection's own output buffer
	// before it reads again, so the input buffer can be shared.
	return nil, evio.Options{ReuseInputBuffer: true}, evio.None
}

func (s *server) data(c evio.Conn, in []byte) ([]byte, evio.Action) {
	if st, ok := c.Context().(*workState); ok {
		return s.requests(c, st, in), evio.None
	}
	return in, evio.None
}

func (s *server) closed(_ evio.Conn, err error) evio.Action {
	s.live.Add(-1)
	if err != nil {
		// evio passes the failed read's or write's error without saying
		// which; only EPIPE is certain to come from a write.
		kind := modelkit.KindRead
		if errors.Is(err, unix.EPIPE) {
			kind = modelkit.KindWrite
		}
		s.rep.Report(kind, err, s.live.Load())
	}
	return evio.None
}

func (s *server) tick() (time.Duration, evio.Action) {
	if s.stopping.Load() {
		return 0, evio.Shutdown
	}
	return tickEvery, evio.None
}

// setBacklog applies C10K_BACKLOG. evio listens with Go's net package (or
// go_reuseport), which always asks for net.core.somaxconn, and does not
// expose the socket; Linux lets listen(2) be called again on a listening
// socket to change its backlog, so find the descriptors bound to addr.
func setBacklog(addr net.Addr, backlog int) error {
	want, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return fmt.Errorf("listener address %v: %w", addr, err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("find listener: %w", err)
	}
	found := 0
	for _, e := range fds {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil || !isListener(fd, want) {
			continue
		}
		if err := unix.Listen(fd, backlog); err != nil {
			return fmt.Errorf("listen backlog %d: %w", backlog, err)
		}
		found++
	}
	if found == 0 {
		return fmt.Errorf("set backlog: no listening socket on %v", addr)
	}
	return nil
}

func isListener(fd int, want netip.AddrPort) bool {
	if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || on != 1 {
		return false
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)) == want
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)) == want
	}
	return false
}

// fdUsage says how close the process is to its open-files limit, the usual
// reason evio's accept fails.
func fdUsage() string {
	var lim unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	fds, _ := filepath.Glob("/proc/self/fd/*")
	return fmt.Sprintf("%d of limit %d", len(fds), lim.Cur)
}
