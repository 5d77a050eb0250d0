// Command gnet is the gnet/v2 model: C10K_LOOPS event loops (default 1),
// each a goroutine running a level-triggered epoll reactor that reads into
// one shared 64 KiB buffer and calls OnTraffic, where the echo is written
// back through gnet's per-connection outbound buffer.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

const model = "gnet"

const (
	bufferCap = 64 << 10
	// drainTimeout bounds the blocking flush of echo still pending when a
	// client half-closes (see OnClose).
	drainTimeout = time.Second
	stopTimeout  = 1500 * time.Millisecond
	// KindEngine reports that gnet stopped its engine on its own.
	kindEngine = "engine"
)

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	e := &echo{cfg: cfg, rep: rep, work: work, booted: make(chan struct{})}
	ctx, stop := modelkit.SignalContext()
	defer stop()
	go e.stopOn(ctx)

	err = gnet.Run(e, "tcp://"+cfg.Addr,
		gnet.WithNumEventLoop(cfg.Loops),
		gnet.WithMulticore(false),
		gnet.WithEdgeTriggeredIO(false),
		gnet.WithReadBufferCap(bufferCap),
		gnet.WithWriteBufferCap(bufferCap),
		gnet.WithLockOSThread(true),
		gnet.WithReuseAddr(true),
		gnet.WithReusePort(cfg.ReusePort),
		gnet.WithLogger(&logger{e: e}),
	)
	if err != nil {
		modelkit.Fatal(model, fmt.Errorf("run %s: %w", cfg.Addr, err))
	}
	if !e.stopping.Load() {
		// gnet ends the engine on the first accept error it does not retry
		// (EMFILE...): the runner must see that the model died, and why.
		rep.Report(kindEngine, nil, e.live.Load())
		rep.Close()
		fmt.Fprintf(os.Stderr, "%s: engine stopped without SIGTERM (see the accept report)\n", model)
		os.Exit(1)
	}
}

type echo struct {
	gnet.BuiltinEventEngine
	cfg      modelkit.Config
	rep      *modelkit.Reporter
	work     modelkit.Work // C10K_WORK; none: a pure echo (work.go)
	live     atomic.Int64
	eng      gnet.Engine
	booted   chan struct{}
	stopping atomic.Bool
}

func (e *echo) stopOn(ctx context.Context) {
	<-ctx.Done()
	<-e.booted
	e.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	// Run returns once the loops are gone; Stop's own polling may outlive it.
	if err := e.eng.Stop(sctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stop engine: %v\n", model, err)
	}
}

func (e *echo) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	close(e.booted)
	if err := setBacklog(eng, e.cfg.Backlog); err != nil {
		modelkit.Fatal(model, err)
	}
	return gnet.None
}

// setBacklog applies C10K_BACKLOG: gnet always listens with
// net.core.somaxconn, and Linux lets listen(2) be called again on a
// listening socket to change its backlog.
func setBacklog(eng gnet.Engine, backlog int) error {
	fd, err := eng.Dup()
	if err != nil {
		return fmt.Errorf("dup listener: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("listen backlog %d: %w", backlog, err)
	}
	return nil
}

func (e *echo) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	e.live.Add(1)
	if !e.work.None() {
		c.SetContext(&workState{fr: modelkit.NewFramer(e.work.Size)})
	}
	return nil, gnet.None
}

func (e *echo) OnTraffic(c gnet.Conn) gnet.Action {
	// Next(-1) takes all buffered input and cannot fail for a negative n.
	buf, _ := c.Next(-1)
	if st, ok := c.Context().(*workState); ok {
		e.traffic(c, st, buf)
		return gnet.None
	}
	// A failed Write makes gnet close the connection and pass the error to
	// OnClose, which reports it.
	_, _ = c.Write(buf)
	return gnet.None
}

func (e *echo) OnClose(c gnet.Conn, err error) gnet.Action {
	e.live.Add(-1)
	if err == nil {
		return gnet.None // closed by us or by the engine
	}
	if errors.Is(err, io.EOF) {
		st, _ := c.Context().(*workState)
		if c.OutboundBuffered() > 0 || st.unfinished() {
			e.drainOnClose(c)
		}
		if st != nil {
			e.finishAfterClose(c, st)
		}
		return gnet.None
	}
	kind := "conn"
	var se *os.SyscallError
	if errors.As(err, &se) {
		switch {
		case se.Syscall == "read":
			kind = modelkit.KindRead
		case strings.HasPrefix(se.Syscall, "write"):
			kind = modelkit.KindWrite
		}
	}
	e.rep.Report(kind, err, e.live.Load())
	return gnet.None
}

// drainOnClose makes gnet's flush after OnClose deliver everything. gnet
// reads on while echo is pending, and on the client's FIN it closes the
// connection after one non-blocking write of what is left, dropping the
// rest: a half-closing client would lose the tail of its echo. Switching
// the socket to blocking with a send timeout makes that write complete;
// the event loop waits for it, at most drainTimeout without progress.
func (e *echo) drainOnClose(c gnet.Conn) {
	fd := c.Fd()
	tv := unix.NsecToTimeval(drainTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		e.rep.Report(modelkit.KindWrite, fmt.Errorf("drain after half-close: %w", err), e.live.Load())
		return
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		e.rep.Report(modelkit.KindWrite, fmt.Errorf("drain after half-close: %w", err), e.live.Load())
	}
}

// logger sends gnet's log to stderr and turns the accept failures it only
// logs into reports.
type logger struct{ e *echo }

func (l *logger) Debugf(string, ...any) {}
func (l *logger) Infof(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+format+"\n", args...)
}
func (l *logger) Warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: warn: "+format+"\n", args...)
}
func (l *logger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: error: "+format+"\n", args...)
	if strings.HasPrefix(format, "Accept()") {
		for _, a := range args {
			if err, ok := a.(error); ok {
				l.e.rep.Report(modelkit.KindAccept, err, l.e.live.Load())
			}
		}
	}
}
func (l *logger) Fatalf(format string, args ...any) {
	modelkit.Fatal(model, fmt.Errorf(format, args...))
}
