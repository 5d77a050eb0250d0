package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"c10klab/contract"
	"c10klab/runner/internal/probe"
)

// The work checks start a model with C10K_WORK (models/README.md, "Work
// per request") and check what can be checked from outside on a busy
// machine: lower bounds on latency, CPU time rather than wall time, and
// only generous upper bounds.
const (
	CheckWorkWait      = "work_wait"
	CheckWorkBlock     = "work_block"
	CheckWorkCPU       = "work_cpu"
	CheckWorkHalfClose = "work_half_close"
)

// WorkChecks returns the work checks; each takes about a second.
func WorkChecks() []ProcCheck {
	return []ProcCheck{
		{CheckWorkWait, workWait},
		{CheckWorkBlock, workBlock},
		{CheckWorkCPU, workCPU},
		{CheckWorkHalfClose, workHalfClose},
	}
}

// workSize is C10K_SIZE in the checks: it divides both the launcher's
// readiness probe (24 bytes, which must come back before the model counts
// as started) and DialEcho's greeting (12 bytes), so both are whole
// requests.
const workSize = 12

// Work of each check.
const (
	checkWait  = 50 * time.Millisecond
	checkBlock = 20 * time.Millisecond
	checkCPU   = 5 * time.Millisecond
)

// workRequest is request i of connection conn: workSize bytes of its own,
// so an echo from the wrong connection or out of order shows.
func workRequest(conn, i int) []byte {
	return fmt.Appendf(nil, "c%03dr%06d\n", conn%1000, i%1000000)
}

func startWork(ctx context.Context, m Model, w contract.Work) (*Instance, error) {
	w.Size = workSize
	return m.StartFree(ctx, w.Environ()...)
}

// echoTimed sends each request after the echo of the previous one and
// returns how long each echo took.
func echoTimed(ctx context.Context, c net.Conn, reqs [][]byte) ([]time.Duration, error) {
	took := make([]time.Duration, len(reqs))
	for i, req := range reqs {
		start := time.Now()
		if err := Echo(ctx, c, req); err != nil {
			return took, fmt.Errorf("request %d of %d: %w", i+1, len(reqs), err)
		}
		took[i] = time.Since(start)
	}
	return took, nil
}

// onConns runs f on every connection at once and returns the first error.
func onConns(conns []*net.TCPConn, f func(i int, c *net.TCPConn) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Go(func() { errs[i] = f(i, c) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("connection %d of %d: %w", i+1, len(conns), err)
		}
	}
	return nil
}

// atLeast checks that no echo came back sooner than min after its request.
func atLeast(took []time.Duration, min time.Duration, what string) error {
	for i, d := range took {
		if d < min {
			return fmt.Errorf("request %d's echo came back after %v, sooner than %s", i+1, d.Round(time.Microsecond), what)
		}
	}
	return nil
}

// Sizes of the wait check: waitConns connections each echo waitRounds
// requests one after another, then one connection sends waitPipelined
// requests in one write, then concurrentConns connections one request each
// at the same moment.
const (
	waitConns       = 3
	waitRounds      = 3
	waitPipelined   = 3
	concurrentConns = 10
)

// workWait: with wait=50ms no echo comes back sooner than 50 ms, echoes
// come back intact and in order, one connection's requests are handled
// one after another, and waits of different connections overlap: ten
// connections with one request each finish in well under ten waits.
func workWait(ctx context.Context, m Model, o Options) error {
	w := contract.Work{Wait: checkWait}
	in, err := startWork(ctx, m, w)
	if err != nil {
		return err
	}
	defer in.Kill()
	wait := fmt.Sprintf("the wait (%s=%s)", contract.EnvWork, w)

	conns, err := DialEcho(ctx, in.Addr(), max(waitConns, concurrentConns), dialParallel)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	err = onConns(conns[:waitConns], func(i int, c *net.TCPConn) error {
		var reqs [][]byte
		for r := range waitRounds {
			reqs = append(reqs, workRequest(i, r))
		}
		took, err := echoTimed(ctx, c, reqs)
		if err != nil {
			return err
		}
		return atLeast(took, checkWait, wait)
	})
	if err != nil {
		return err
	}

	// Pipelined: the k-th echo cannot come back before k waits.
	var all []byte
	for r := range waitPipelined {
		all = append(all, workRequest(0, 100+r)...)
	}
	c := conns[0]
	stop := guard(ctx, c)
	start := time.Now()
	if _, err := c.Write(all); err != nil {
		stop()
		return errf(ctx, "pipelined requests: write: %w", err)
	}
	for r := range waitPipelined {
		got := make([]byte, workSize)
		if _, err := io.ReadFull(c, got); err != nil {
			stop()
			return errf(ctx, "pipelined request %d of %d: read echo: %w", r+1, waitPipelined, err)
		}
		if want := all[r*workSize : (r+1)*workSize]; !bytes.Equal(got, want) {
			stop()
			return fmt.Errorf("pipelined request %d of %d: echo %q, want %q (intact and in order)", r+1, waitPipelined, got, want)
		}
		if took, want := time.Since(start), time.Duration(r+1)*checkWait; took < want {
			stop()
			return fmt.Errorf("pipelined request %d of %d came back %v after the write, sooner than %d waits (%v): a connection's requests must be handled one after another",
				r+1, waitPipelined, took.Round(time.Microsecond), r+1, want)
		}
	}
	stop()

	// Concurrent: one request on each connection at the same moment.
	start = time.Now()
	err = onConns(conns[:concurrentConns], func(i int, c *net.TCPConn) error {
		took, err := echoTimed(ctx, c, [][]byte{workRequest(i, 200)})
		if err != nil {
			return err
		}
		return atLeast(took, checkWait, wait)
	})
	if err != nil {
		return err
	}
	// Served one after another they would take 10 waits (500 ms); the
	// bound leaves a busy machine five waits of slack.
	if took, limit := time.Since(start), concurrentConns/2*checkWait; took >= limit {
		return fmt.Errorf("%d connections with one request each took %v, not under %v: their waits do not overlap (%s should not block the model)",
			concurrentConns, took.Round(time.Millisecond), limit, wait)
	}
	return nil
}

// workBlock: with block=20ms no echo comes back sooner than 20 ms.
func workBlock(ctx context.Context, m Model, o Options) error {
	w := contract.Work{Block: checkBlock}
	in, err := startWork(ctx, m, w)
	if err != nil {
		return err
	}
	defer in.Kill()
	conns, err := DialEcho(ctx, in.Addr(), 2, dialParallel)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	return onConns(conns, func(i int, c *net.TCPConn) error {
		took, err := echoTimed(ctx, c, [][]byte{workRequest(i, 0), workRequest(i, 1), workRequest(i, 2)})
		if err != nil {
			return err
		}
		return atLeast(took, checkBlock, fmt.Sprintf("the blocking sleep (%s=%s)", contract.EnvWork, w))
	})
}

// Sizes of the CPU check: cpuConns connections each echo cpuRounds
// requests, so the model burns cpuConns × cpuRounds × 5 ms = 100 ms.
const (
	cpuConns  = 2
	cpuRounds = 10
	// cpuAllowance is CPU a model may use beyond 3× the work: echoes,
	// its runtime's own threads, a few clock ticks of rounding per process.
	cpuAllowance = 300 * time.Millisecond
)

// workCPU: with cpu=5ms, N requests grow the model family's CPU time by at
// least 0.8 × N × 5 ms and by less than 3 × that plus an allowance. CPU
// time, not wall time, so a busy machine cannot fail it.
func workCPU(ctx context.Context, m Model, o Options) error {
	w := contract.Work{CPU: checkCPU}
	in, err := startWork(ctx, m, w)
	if err != nil {
		return err
	}
	defer in.Kill()
	// Open first, so that starting a process or thread per connection is
	// not counted as work.
	conns, err := DialEcho(ctx, in.Addr(), cpuConns, dialParallel)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	tree := probe.NewTree(probe.TreeConfig{Roots: []int{in.Pid()}})
	cpu := func() (time.Duration, error) {
		p, err := tree.Sample()
		if err != nil {
			return 0, fmt.Errorf("the model's CPU time: %w", err)
		}
		return time.Duration(p.CPU() * float64(time.Second)), nil
	}
	before, err := cpu()
	if err != nil {
		return err
	}
	err = onConns(conns, func(i int, c *net.TCPConn) error {
		var reqs [][]byte
		for r := range cpuRounds {
			reqs = append(reqs, workRequest(i, r))
		}
		_, err := echoTimed(ctx, c, reqs)
		return err
	})
	if err != nil {
		return err
	}
	after, err := cpu()
	if err != nil {
		return err
	}
	n := cpuConns * cpuRounds
	want := time.Duration(n) * checkCPU
	used := after - before
	if used < want*8/10 {
		return fmt.Errorf("%d requests with %s=%s used %v of the model's CPU, want at least 80%% of %v: the work does not burn the thread's CPU",
			n, contract.EnvWork, w, used.Round(time.Millisecond), want)
	}
	if limit := 3*want + cpuAllowance; used > limit {
		return fmt.Errorf("%d requests with %s=%s used %v of the model's CPU, more than %v (3 × %v and %v for the rest)",
			n, contract.EnvWork, w, used.Round(time.Millisecond), limit, want, cpuAllowance)
	}
	return nil
}

// workHalfClose: two requests and a partial one, then the client's FIN
// while the first is still in its wait: both requests come back after
// their waits, then the partial one as it is, then the model closes.
func workHalfClose(ctx context.Context, m Model, o Options) error {
	w := contract.Work{Wait: checkWait}
	in, err := startWork(ctx, m, w)
	if err != nil {
		return err
	}
	defer in.Kill()
	payload := append(append(workRequest(0, 0), workRequest(0, 1)...), "part"...)
	start := time.Now()
	got, err := HalfCloseEcho(ctx, in.Addr(), payload, 0)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("sent %q and half-closed, got back %q (%s)", payload, got, FirstDiff(got, payload))
	}
	if took := time.Since(start); took < 2*checkWait {
		return fmt.Errorf("two requests and a half-close came back in %v, sooner than two waits (%v)", took.Round(time.Microsecond), 2*checkWait)
	}
	return nil
}
