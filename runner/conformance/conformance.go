// Package conformance checks a model against the model contract of
// models/README.md over real loopback sockets: echo of small messages over
// concurrent connections, one large burst, half-close by the client,
// reset by the client, SIGTERM, SO_REUSEPORT and the listen backlog.
//
// It checks correctness, not capacity: every check holds at most
// ConcurrentConns connections at once, a count any real server holds
// (Python's ForkingMixIn with its defaults serves 40 and listens with a
// backlog of 5), and connects a few at a time so that no listen queue
// overflows. How many connections a model sustains is what the run
// measures; a model that holds few is measurable, not broken.
//
// Network checks talk to an address where a model already listens (the
// runner's quick check before measuring uses them); process checks start
// and stop instances of a model binary themselves, with the launcher the
// runner uses. The package does not depend on the testing package, so the
// runner, the conformance suite and the models' own tests share one copy
// of every check.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Options size the checks. The zero value means the full suite's defaults.
type Options struct {
	// Conns is how many connections the echo check holds at once.
	Conns int
	// Rounds is how many small messages each of those connections echoes.
	Rounds int
	// BurstSize is the size of the burst sent in one write.
	BurstSize int
	// HalfCloseSizes are the payloads sent before the client half-closes
	// (default 12 B, 4 KiB, 256 KiB); the largest is also sent to a client
	// that starts reading only 200 ms later.
	HalfCloseSizes []int
	// HoldConns is how many connections a model holds when it gets SIGTERM.
	HoldConns int
	// Timeout bounds each check; the context may bound it further.
	Timeout time.Duration
}

// ConcurrentConns is the most connections any check holds at once: half
// of what Python's ForkingMixIn serves with its defaults (40 children), so
// the smallest real server passes with room to spare.
const ConcurrentConns = 20

// Defaults of the full suite.
const (
	DefaultConns     = ConcurrentConns
	DefaultRounds    = 3
	DefaultBurstSize = 1 << 20
	DefaultHoldConns = ConcurrentConns
	DefaultTimeout   = 20 * time.Second
)

// defaultHalfCloseSizes stop at 256 KiB: a multi-MiB echo the client reads
// only after half-closing is truncated by netpoll (models/netpoll/README.md),
// a documented deviation the shared suite leaves to that model's tests.
func defaultHalfCloseSizes() []int { return []int{12, 4 << 10, 256 << 10} }

func (o Options) withDefaults() Options {
	if o.Conns <= 0 {
		o.Conns = DefaultConns
	}
	if o.Rounds <= 0 {
		o.Rounds = DefaultRounds
	}
	if o.BurstSize <= 0 {
		o.BurstSize = DefaultBurstSize
	}
	if len(o.HalfCloseSizes) == 0 {
		o.HalfCloseSizes = defaultHalfCloseSizes()
	}
	if o.HoldConns <= 0 {
		o.HoldConns = DefaultHoldConns
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// CheckError is a failed (or skipped) check; its message starts with the
// check's name.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// SkipError says a check could not run here (a tool is missing), which is
// not a failure of the model.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skipped returns the reason when err is a skipped check.
func Skipped(err error) (string, bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason, true
	}
	return "", false
}

// NetCheck is a check of a model that already listens on an address.
type NetCheck struct {
	Name string
	run  func(ctx context.Context, addr netip.AddrPort, o Options) error
}

// Run runs the check within o.Timeout; a failure is a *CheckError.
func (c NetCheck) Run(ctx context.Context, addr netip.AddrPort, o Options) error {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := c.run(ctx, addr, o); err != nil {
		return &CheckError{Check: c.Name, Err: err}
	}
	return nil
}

// ProcCheck is a check that starts and stops instances of a model itself.
type ProcCheck struct {
	Name string
	run  func(ctx context.Context, m Model, o Options) error
}

// Run runs the check within o.Timeout; a failure is a *CheckError. Every
// process the check started is gone when it returns.
func (c ProcCheck) Run(ctx context.Context, m Model, o Options) error {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := c.run(ctx, m, o); err != nil {
		return &CheckError{Check: c.Name, Err: err}
	}
	return nil
}

// Check names, stable: the runner records them and tests select by them.
const (
	CheckEcho       = "echo"
	CheckBurst      = "burst"
	CheckHalfClose  = "half_close"
	CheckReset      = "client_reset"
	CheckSIGTERM    = "sigterm"
	CheckReusePort  = "reuseport"
	CheckExclusive  = "exclusive_port"
	CheckBacklog    = "backlog"
	CheckCleanQuiet = "clean_close_quiet"
)

// NetChecks returns the network checks in the order they should run:
// cheapest first, the reset last (it is the one most likely to kill a
// model).
func NetChecks() []NetCheck {
	return []NetCheck{
		{CheckEcho, echoMany},
		{CheckBurst, burst},
		{CheckHalfClose, halfClose},
		{CheckReset, clientReset},
	}
}

// ProcChecks returns the process checks.
func ProcChecks() []ProcCheck {
	return []ProcCheck{
		{CheckSIGTERM, sigterm},
		{CheckReusePort, reusePort},
		{CheckExclusive, exclusivePort},
		{CheckBacklog, backlog},
		{CheckCleanQuiet, cleanCloseQuiet},
	}
}

// QuickOptions size the runner's quick check.
func QuickOptions() Options {
	return Options{
		Conns:          ConcurrentConns,
		Rounds:         2,
		BurstSize:      1 << 20,
		HalfCloseSizes: []int{12, 64 << 10},
		Timeout:        QuickBudget,
	}
}

// QuickBudget bounds Quick as a whole.
const QuickBudget = 5 * time.Second

// Quick runs the network checks with fewer connections against a model
// already listening on addr, stopping at the first failure, within
// QuickBudget. Its error is a *CheckError naming the failed check.
func Quick(ctx context.Context, addr netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, QuickBudget)
	defer cancel()
	o := QuickOptions()
	for _, c := range NetChecks() {
		if err := c.Run(ctx, addr, o); err != nil {
			return err
		}
	}
	return nil
}

// errf is fmt.Errorf with the context's error named when it cut the check
// short, so a timeout is not mistaken for the model's own failure.
func errf(ctx context.Context, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if ctx.Err() != nil {
		return fmt.Errorf("%w (check budget ran out: %v)", err, context.Cause(ctx))
	}
	return err
}
