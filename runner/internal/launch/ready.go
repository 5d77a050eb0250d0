package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// ErrNotReady is wrapped by WaitReady's errors.
var ErrNotReady = errors.New("model never became ready")

// ExitedError says a leader exited before the model was ready.
type ExitedError struct {
	PID    int
	Status string // "exit status 2"
}

func (e *ExitedError) Error() string {
	return fmt.Sprintf("pid %d exited (%s) before serving", e.PID, e.Status)
}

// readyPoll is how often WaitReady tries: each try scans /proc, so not in
// a busy loop.
const readyPoll = 25 * time.Millisecond

// probeWait bounds one echo probe.
const probeWait = time.Second

// WaitReady waits until Ready holds, a leader exits (the error wraps
// ErrNotReady and an *ExitedError), or timeout passes.
func WaitReady(ctx context.Context, addr netip.AddrPort, procs []*Process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		for _, p := range procs {
			if p.Exited() {
				return fmt.Errorf("%w: %w", ErrNotReady, &ExitedError{PID: p.Pid(), Status: p.Status()})
			}
		}
		err := Ready(ctx, addr, procs)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			// A try cut short by the overall timeout says less than the
			// one before it.
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w within %v on %s: %v", ErrNotReady, timeout, addr, last)
		case <-tick.C:
		}
	}
}

// Ready is one try of the readiness rule: a process of each leader's
// family listens on addr's port, and a connection to addr gets a probe
// echoed. A TCP connect alone is not enough: the kernel completes the
// handshake for a listening socket whose owner never calls accept().
func Ready(ctx context.Context, addr netip.AddrPort, procs []*Process) error {
	for i, p := range procs {
		ok, err := Listens(p.Pid(), addr.Port())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no process of instance %d's family (group %d) listens on port %d yet", i, p.Pid(), addr.Port())
		}
	}
	return Probe(ctx, addr, probeWait)
}

// Probe connects to addr, sends a probe and waits up to wait for it to
// come back.
func Probe(ctx context.Context, addr netip.AddrPort, wait time.Duration) error {
	d := net.Dialer{Timeout: wait}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	probe := []byte("c10klab readiness probe\n")
	dl := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetDeadline(dl)
	if _, err := c.Write(probe); err != nil {
		return fmt.Errorf("send probe: %w", err)
	}
	got := make([]byte, len(probe))
	if _, err := io.ReadFull(c, got); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("connected, but the probe was not echoed within %v: the model does not accept() or does not echo", wait)
		}
		return fmt.Errorf("read echo: %w", err)
	}
	if string(got) != string(probe) {
		return fmt.Errorf("probe echoed wrong: sent %q, got %q", probe, got)
	}
	return nil
}
