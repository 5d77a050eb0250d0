// Command goroutine is the goroutine-per-connection model: Go's standard net
// package, one goroutine per accepted connection doing blocking-style reads
// and writes that the runtime multiplexes over its own epoll poller.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"c10klab/models/internal/modelkit"
)

const model = "goroutine"

func main() {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	ln, err := modelkit.Listen(cfg)
	if err != nil {
		modelkit.Fatal(model, err)
	}
	work, err := modelkit.LoadWork()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	rep := modelkit.NewReporter(model, cfg)
	defer rep.Close()

	ctx, stop := modelkit.SignalContext()
	defer stop()
	s := &server{rep: rep, work: work, conns: map[net.Conn]struct{}{}}
	go func() {
		<-ctx.Done()
		ln.Close()
		s.closeAll()
	}()
	s.serve(ctx, ln)
}

type server struct {
	rep  *modelkit.Reporter
	work modelkit.Work // C10K_WORK; none: a pure echo
	live atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (s *server) serve(ctx context.Context, ln net.Listener) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: report, back off as net/http does, retry.
			s.rep.Report(modelkit.KindAccept, err, s.live.Load())
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.track(c, true)
		go s.echo(c)
	}
}

func (s *server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
		s.live.Add(1)
	} else {
		delete(s.conns, c)
		s.live.Add(-1)
	}
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *server) echo(c net.Conn) {
	defer func() {
		c.Close()
		s.track(c, false)
	}()
	var fr *modelkit.Framer
	if !s.work.None() {
		fr = modelkit.NewFramer(s.work.Size)
	}
	write := func(p []byte) error {
		_, err := c.Write(p)
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			var werr error
			if fr == nil {
				werr = write(buf[:n])
			} else {
				// The work runs in this connection's goroutine: wait= is
				// time.Sleep, which parks only this goroutine.
				werr = modelkit.Serial(fr, s.work, buf[:n], time.Sleep, write)
			}
			if werr != nil {
				s.reportIO(modelkit.KindWrite, werr)
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				s.reportIO(modelkit.KindRead, err)
				return
			}
			if fr != nil {
				// The client half-closed: its incomplete request goes back as it is.
				if rest := fr.Rest(); rest != nil {
					if werr := write(rest); werr != nil {
						s.reportIO(modelkit.KindWrite, werr)
					}
				}
			}
			return
		}
	}
}

// reportIO reports connection errors except the ones a closing server causes
// itself.
func (s *server) reportIO(kind string, err error) {
	if errors.Is(err, net.ErrClosed) {
		return
	}
	s.rep.Report(kind, err, s.live.Load())
}
