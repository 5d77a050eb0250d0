package launch

import (
	"bytes"
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

// WaitReady waits until Ready holds, a leader exits (the error wraps
// ErrNotReady and an *ExitedError), or timeout passes.
func WaitReady(ctx context.Context, addr netip.AddrPort, procs []*Process, timeout time.Duration) error {
	_, err := WaitReadyDelay(ctx, addr, procs, timeout, 0)
	return err
}

// WaitReadyDelay is WaitReady that also says how long the probe's echo
// took. A model that echoes late is ready all the same: it is measured,
// and its delay is a finding, not a refusal (a server that echoes every
// message 1.5 s late was once refused as "does not echo"). request, when
// positive, is the model's bytes per request (C10K_SIZE with C10K_WORK
// set): the probe is then a whole number of requests, since a model with
// work echoes a request only once all of it has come.
func WaitReadyDelay(ctx context.Context, addr netip.AddrPort, procs []*Process, timeout time.Duration, request int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		for _, p := range procs {
			if p.Exited() {
				return 0, fmt.Errorf("%w: %w", ErrNotReady, &ExitedError{PID: p.Pid(), Status: p.Status()})
			}
		}
		delay, err := ready(ctx, addr, procs, request)
		if err == nil {
			return delay, nil
		}
		if ctx.Err() == nil || last == nil {
			// A try cut short by the overall timeout says less than the
			// one before it.
			last = err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w within %v on %s: %v", ErrNotReady, timeout, addr, last)
		case <-tick.C:
		}
	}
}

// Ready is one try of the readiness rule: a process of each leader's
// family listens on addr's port, and a connection to addr gets a probe
// echoed, however late, within ctx. A TCP connect alone is not enough:
// the kernel completes the handshake for a listening socket whose owner
// never calls accept().
func Ready(ctx context.Context, addr netip.AddrPort, procs []*Process) error {
	_, err := ready(ctx, addr, procs, 0)
	return err
}

func ready(ctx context.Context, addr netip.AddrPort, procs []*Process, request int) (time.Duration, error) {
	for i, p := range procs {
		ok, err := Listens(p.Pid(), addr.Port())
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("no process of instance %d's family (group %d) listens on port %d yet", i, p.Pid(), addr.Port())
		}
	}
	// The probe waits as long as the caller does, a late echo being an
	// echo, but ends just before the caller's deadline: its own "not
	// echoed" then says more than the deadline would.
	wait := probeConnect
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Until(d)-probeMargin, 10*time.Millisecond)
	}
	return probeDelay(ctx, addr, wait, probeBytes(request))
}

// probeConnect bounds a probe without a deadline of its own; probeMargin
// is how long before its caller's deadline a probe gives up.
const (
	probeConnect = time.Second
	probeMargin  = 100 * time.Millisecond
)

// Probe connects to addr, sends a probe and waits up to wait for it to
// come back.
func Probe(ctx context.Context, addr netip.AddrPort, wait time.Duration) error {
	_, err := probeDelay(ctx, addr, wait, probeBytes(0))
	return err
}

// probeText is the readiness probe a model echoes.
const probeText = "c10klab readiness probe\n"

// probeBytes is the probe, padded to a whole number of requests of the
// given size (0: as it is).
func probeBytes(request int) []byte {
	p := []byte(probeText)
	if request <= 0 || len(p)%request == 0 {
		return p
	}
	n := (len(p)/request + 1) * request
	padded := append(p[:len(p)-1:len(p)-1], bytes.Repeat([]byte("."), n-len(p))...)
	return append(padded, '\n')
}

// probeDelay sends probe and says how long its echo took from the send.
func probeDelay(ctx context.Context, addr netip.AddrPort, wait time.Duration, probe []byte) (time.Duration, error) {
	d := net.Dialer{Timeout: wait}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// Called once the port is listened on (ready): on loopback
			// the kernel leaves a SYN unanswered only when that socket's
			// listen queue is full, which a model that never accepts
			// reaches (make test met it with noaccept).
			return 0, fmt.Errorf("connect timed out on a listening port: its listen queue is full, the model does not accept() or does not echo: %w", err)
		}
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	dl := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetDeadline(dl)
	sent := time.Now()
	if _, err := c.Write(probe); err != nil {
		return 0, fmt.Errorf("send probe: %w", err)
	}
	got := make([]byte, len(probe))
	if _, err := io.ReadFull(c, got); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("connected, but the probe was not echoed within %v: the model does not accept() or does not echo",
				dl.Sub(sent).Round(10*time.Millisecond))
		}
		return 0, fmt.Errorf("read echo: %w", err)
	}
	delay := time.Since(sent)
	if string(got) != string(probe) {
		return delay, fmt.Errorf("probe echoed wrong: sent %q, got %q", probe, got)
	}
	return delay, nil
}
