// Command netpoll is the cloudwego/netpoll model: C10K_LOOPS pollers
// (default 1), each a goroutine running a level-triggered epoll loop that
// reads into per-connection buffers, and OnRequest handlers run on a
// goroutine pool, one at a time per connection with input waiting, that
// take the input and flush the echo back.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const model = "netpoll"

const (
	bufferSize = 64 << 10
	// drainTimeout bounds the blocking write of a half-closed client's
	// last echo (see echoAfterPeerClose).
	drainTimeout = time.Second
	stopTimeout  = 1500 * time.Millisecond
	kindEngine   = "engine"
)

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	// Before anything else touches netpoll: the pollers read this once.
	if err := netpoll.Configure(netpoll.Config{
		PollerNum:    cfg.Loops,
		BufferSize:   bufferSize,
		LoadBalance:  netpoll.RoundRobin,
		LoggerOutput: os.Stderr,
	}); err != nil {
		modelkit.Fatal(model, fmt.Errorf("configure: %w", err))
	}
	ln, err := modelkit.Listen(cfg)
	if err != nil {
		modelkit.Fatal(model, err)
	}
	npln, err := netpoll.ConvertListener(ln)
	if err != nil {
		modelkit.Fatal(model, fmt.Errorf("convert listener: %w", err))
	}
	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	s := &server{rep: rep, work: work}
	evl, err := netpoll.NewEventLoop(s.onRequest,
		netpoll.WithOnPrepare(s.onPrepare),
		netpoll.WithOnDisconnect(s.onDisconnect),
	)
	if err != nil {
		modelkit.Fatal(model, fmt.Errorf("new event loop: %w", err))
	}

	ctx, stop := modelkit.SignalContext()
	defer stop()
	go func() {
		<-ctx.Done()
		s.stopping.Store(true)
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := evl.Shutdown(sctx); err != nil {
			fmt.Fprintf(os.Stderr, "%s: shutdown: %v\n", model, err)
		}
	}()

	err = evl.Serve(&reportingListener{Listener: npln, s: s})
	if s.stopping.Load() {
		return
	}
	// Serve only returns on its own when the listener failed for good.
	rep.Report(kindEngine, err, s.live.Load())
	rep.Close()
	modelkit.Fatal(model, fmt.Errorf("serve %s: %w", cfg.Addr, err))
}

type server struct {
	rep      *modelkit.Reporter
	work     modelkit.Work // C10K_WORK; none: a pure echo
	live     atomic.Int64
	stopping atomic.Bool
}

// connState is what the model remembers per connection.
type connState struct {
	// lost: a flush failed, so the echo already has a gap and nothing
	// more may be written.
	lost bool
	// flushed: an echo was handed to netpoll's flush before; it may still
	// wait in netpoll's buffer for socket space.
	flushed bool

	// With work: the connection's requests (fr is used by onRequest, and
	// by onDisconnect only while no onRequest runs), and under mu whether
	// an onRequest runs (busy) and whether the client has half-closed
	// (hup). Whichever of the two sees the other done echoes the
	// incomplete request left.
	fr   *modelkit.Framer
	mu   sync.Mutex
	busy bool
	hup  bool
}

type stateKey struct{}

func (s *server) onPrepare(netpoll.Connection) context.Context {
	s.live.Add(1)
	st := &connState{}
	if !s.work.None() {
		st.fr = modelkit.NewFramer(s.work.Size)
	}
	return context.WithValue(context.Background(), stateKey{}, st)
}

func (s *server) onDisconnect(ctx context.Context, c netpoll.Connection) {
	s.live.Add(-1)
	st, _ := ctx.Value(stateKey{}).(*connState)
	if st == nil || st.fr == nil {
		return
	}
	// netpoll calls this on the client's FIN before it closes the
	// descriptor. With no onRequest running, an incomplete request left in
	// the framer would otherwise never be echoed.
	st.mu.Lock()
	st.hup = true
	var rest []byte
	if !st.busy {
		rest = st.fr.Rest()
	}
	st.mu.Unlock()
	if rest != nil {
		_ = s.echoAfterPeerClose(c, rest) // reports its own failure
	}
}

func (s *server) onRequest(ctx context.Context, c netpoll.Connection) error {
	st, _ := ctx.Value(stateKey{}).(*connState)
	if st == nil {
		st = &connState{}
	}
	r, w := c.Reader(), c.Writer()
	in, err := r.Next(r.Len())
	if err != nil {
		s.report(modelkit.KindRead, err)
		return err
	}
	if st.fr != nil {
		return s.onRequests(st, c, in)
	}
	// WriteBinary may keep a reference to in instead of copying it, so the
	// input is released only once the echo is flushed.
	defer r.Release()
	if st.lost {
		return nil
	}
	if !c.IsActive() {
		// The client sent this and half-closed: netpoll has already closed
		// the connection on its side and would refuse the echo.
		return s.echoAfterPeerClose(c, in)
	}
	if _, err := w.WriteBinary(in); err != nil {
		st.lost = true
		s.report(modelkit.KindWrite, err)
		return err
	}
	if err := w.Flush(); err != nil {
		if errors.Is(err, netpoll.ErrConnClosed) && !st.flushed {
			// The client's FIN came between IsActive and Flush: netpoll
			// closed its side and refused the flush before writing a byte
			// (its Flush checks IsActive first). With nothing flushed
			// before, no earlier echo can be pending in netpoll's buffer,
			// so this one goes out as above, still a prefix. Seen once in
			// make test: half_close got 0 of 12 bytes.
			return s.echoAfterPeerClose(c, in)
		}
		// Also what netpoll does to echo still waiting for socket space
		// when the client half-closes: it fails the flush and drops it.
		st.lost = true
		s.report(modelkit.KindWrite, err)
		return err
	}
	st.flushed = true
	return nil
}

// onRequests handles the requests in in, one after another on this pool
// goroutine, which netpoll gives each connection with input: cpu= and
// block= here, and wait= as time.Sleep, which parks this goroutine only
// (the idiom netpoll's handlers have; netpoll runs one handler at a time
// per connection, so later requests wait behind). Then the echo, and the
// incomplete request when the client has half-closed meanwhile.
func (s *server) onRequests(st *connState, c netpoll.Connection, in []byte) error {
	// The framer is fed under mu: onDisconnect may take its rest meanwhile.
	st.mu.Lock()
	st.busy = true
	reqs := st.fr.Feed(in)
	st.mu.Unlock()
	var err error
	for _, req := range reqs {
		if err = s.onRequestWork(st, c, req); err != nil {
			break
		}
	}
	// The framer copied what it keeps.
	c.Reader().Release()
	st.mu.Lock()
	st.busy = false
	var rest []byte
	if st.hup && !st.lost {
		rest = st.fr.Rest()
	}
	st.mu.Unlock()
	if rest != nil && err == nil {
		err = s.echoAfterPeerClose(c, rest)
	}
	return err
}

// onRequestWork does the work of one request and echoes it.
func (s *server) onRequestWork(st *connState, c netpoll.Connection, req []byte) error {
	modelkit.OnThread(s.work)
	if s.work.Wait > 0 {
		time.Sleep(s.work.Wait)
	}
	if st.lost {
		return nil
	}
	if !c.IsActive() {
		return s.echoAfterPeerClose(c, req)
	}
	w := c.Writer()
	if _, err := w.WriteBinary(req); err != nil {
		st.lost = true
		s.report(modelkit.KindWrite, err)
		return err
	}
	if err := w.Flush(); err != nil {
		st.lost = true
		s.report(modelkit.KindWrite, err)
		return err
	}
	return nil
}

// echoAfterPeerClose writes what a half-closing client sent last straight to
// the socket. netpoll treats the client's FIN as the end of the connection,
// but keeps the descriptor open until this handler returns, so the echo can
// still go out; the write blocks this pool goroutine, at most drainTimeout
// without progress.
func (s *server) echoAfterPeerClose(c netpoll.Connection, in []byte) error {
	fc, ok := c.(interface{ Fd() int })
	if !ok {
		return errors.New("netpoll connection has no descriptor")
	}
	fd := fc.Fd()
	tv := unix.NsecToTimeval(drainTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		s.report(modelkit.KindWrite, err)
		return err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		s.report(modelkit.KindWrite, err)
		return err
	}
	for len(in) > 0 {
		n, err := unix.Write(fd, in)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.report(modelkit.KindWrite, err)
			return err
		}
		in = in[n:]
	}
	return nil
}

// report reports a connection error. netpoll wraps OS errors and also has
// errnos of its own above the OS range, which are not errno names.
func (s *server) report(kind string, err error) {
	var en syscall.Errno
	if errors.As(err, &en) && en&0x100 != 0 {
		err = errors.New(err.Error())
	}
	s.rep.Report(kind, err, s.live.Load())
}

// reportingListener reports accept failures: netpoll only logs them (and
// on EMFILE pauses the listener and retries from a goroutine, which also
// accepts through here). netpoll uses a Listener it is given as it is.
type reportingListener struct {
	netpoll.Listener
	s *server
}

func (l *reportingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.s.report(modelkit.KindAccept, err)
	}
	return c, err
}
