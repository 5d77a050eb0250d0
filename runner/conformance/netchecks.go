package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Dial connects to addr over TCP, giving up when ctx ends.
func Dial(ctx context.Context, addr netip.AddrPort) (*net.TCPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c.(*net.TCPConn), nil
}

// guard makes c's blocking calls return when ctx ends: at its deadline, or
// at once when it is cancelled. The returned func undoes both, so a
// connection handed back to a caller carries no stale deadline.
func guard(ctx context.Context, c net.Conn) func() {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.SetDeadline(time.Time{})
	}
}

// Echo sends msg on c and checks that exactly msg comes back before ctx
// ends.
func Echo(ctx context.Context, c net.Conn, msg []byte) error {
	defer guard(ctx, c)()
	if _, err := c.Write(msg); err != nil {
		return errf(ctx, "write: %w", err)
	}
	got := make([]byte, len(msg))
	if n, err := io.ReadFull(c, got); err != nil {
		return errf(ctx, "read echo: got %d of %d bytes: %w", n, len(msg), err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo mismatch: sent %q, got %q", msg, got)
	}
	return nil
}

// EchoOnce opens a connection, checks that it echoes msg, and closes it.
func EchoOnce(ctx context.Context, addr netip.AddrPort, msg []byte) error {
	c, err := Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return Echo(ctx, c, msg)
}

// DialEcho opens n connections, at most par of them connecting at once,
// and checks that each echoes a message of its own. On error it closes
// the ones it opened.
func DialEcho(ctx context.Context, addr netip.AddrPort, n, par int) ([]*net.TCPConn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conns := make([]*net.TCPConn, n)
	var fail firstError
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(par, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := Dial(ctx, addr)
				if err == nil {
					conns[i] = c
					err = Echo(ctx, c, fmt.Appendf(nil, "hello %05d\n", i))
				}
				if err != nil {
					fail.set(fmt.Errorf("connection %d of %d: %w", i+1, n, err), cancel)
				}
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := fail.get(); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// firstError keeps the first of several concurrent errors: the later ones
// are usually the cancellation it caused.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error, cancel context.CancelFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
		cancel()
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// dialParallel is how many connects the checks keep in flight: fewer than
// the smallest listen backlog a real server uses (5, Python's TCPServer),
// so that a server accepting one connection at a time never sees its
// queue overflow into SYN retransmits, which would turn a correctness
// check into a test of the backlog.
const dialParallel = 4

// echoMany holds o.Conns connections and has all of them echo o.Rounds
// small messages at once.
func echoMany(ctx context.Context, addr netip.AddrPort, o Options) error {
	conns, err := DialEcho(ctx, addr, o.Conns, dialParallel)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fail firstError
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range o.Rounds {
				msg := fmt.Appendf(nil, "conn %05d round %02d\n", i, r)
				if err := Echo(ctx, c, msg); err != nil {
					fail.set(fmt.Errorf("connection %d of %d, round %d, all %d connections open: %w",
						i+1, len(conns), r+1, len(conns), err), cancel)
					return
				}
			}
		}()
	}
	wg.Wait()
	return fail.get()
}

// burst sends o.BurstSize bytes in one write while reading concurrently:
// the model sees them in many reads and meets partial writes on the way
// back, and must return every byte in order.
func burst(ctx context.Context, addr netip.AddrPort, o Options) error {
	c, err := Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	defer guard(ctx, c)()
	want := Pattern(o.BurstSize)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		werr <- err
	}()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if err != nil {
		c.Close() // unblocks the writer
		<-werr
		return errf(ctx, "got %d of %d bytes: %w", n, len(want), err)
	}
	if err := <-werr; err != nil {
		return errf(ctx, "write %d bytes: %w", len(want), err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("echo of %d bytes corrupted: %s", len(want), FirstDiff(got, want))
	}
	return nil
}

// halfCloseLateRead is how long the late reader waits, so that the model
// holds echo it cannot write yet when the client's FIN arrives.
const halfCloseLateRead = 200 * time.Millisecond

// halfClose sends each size, half-closes, and expects every byte back and
// then the model's FIN. The largest size is sent twice more: once with the
// client reading only after a delay.
func halfClose(ctx context.Context, addr netip.AddrPort, o Options) error {
	type tc struct {
		size      int
		readAfter time.Duration
	}
	var cases []tc
	for _, s := range o.HalfCloseSizes {
		cases = append(cases, tc{s, 0})
	}
	largest := o.HalfCloseSizes[len(o.HalfCloseSizes)-1]
	cases = append(cases, tc{largest, halfCloseLateRead})
	for _, c := range cases {
		want := Pattern(c.size)
		got, err := HalfCloseEcho(ctx, addr, want, c.readAfter)
		how := ""
		if c.readAfter > 0 {
			how = fmt.Sprintf(", client reading after %v", c.readAfter)
		}
		if err != nil {
			return fmt.Errorf("%d bytes%s: %w", c.size, how, err)
		}
		if len(got) < len(want) && bytes.HasPrefix(want, got) {
			return fmt.Errorf("got %d of %d bytes before EOF%s", len(got), len(want), how)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%d bytes%s: echo corrupted: %s", c.size, how, FirstDiff(got, want))
		}
	}
	return nil
}

// HalfCloseEcho sends payload, half-closes the connection (FIN) and returns
// what came back until the model closed its side. readAfter delays the
// reading. An error means the model reset the connection, never closed it,
// or the payload could not be sent.
func HalfCloseEcho(ctx context.Context, addr netip.AddrPort, payload []byte, readAfter time.Duration) ([]byte, error) {
	c, err := Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer guard(ctx, c)()
	werr := make(chan error, 1)
	go func() {
		if _, err := c.Write(payload); err != nil {
			werr <- fmt.Errorf("write: %w", err)
			return
		}
		if err := c.CloseWrite(); err != nil {
			werr <- fmt.Errorf("half-close: %w", err)
			return
		}
		werr <- nil
	}()
	select {
	case <-time.After(readAfter):
	case <-ctx.Done():
	}
	got, err := io.ReadAll(c) // ends at the model's FIN
	if err != nil {
		c.Close()
		<-werr
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return got, errf(ctx, "got %d of %d bytes and no EOF: the model did not close its side", len(got), len(payload))
		}
		return got, errf(ctx, "got %d of %d bytes, then %w", len(got), len(payload), err)
	}
	if err := <-werr; err != nil {
		return got, errf(ctx, "%w", err)
	}
	return got, nil
}

// clientReset aborts connections in three states (idle, with echo left
// unread, just opened) with SO_LINGER 0, so the model's next read or accept
// fails, and checks that connections opened before and after still echo.
func clientReset(ctx context.Context, addr netip.AddrPort, o Options) error {
	healthy, err := DialEcho(ctx, addr, min(max(o.Conns/10, 5), 20), dialParallel)
	if err != nil {
		return fmt.Errorf("before any reset: %w", err)
	}
	defer closeAll(healthy)

	victims := []struct {
		name    string
		prepare func(*net.TCPConn) error
	}{
		{"idle", func(c *net.TCPConn) error { return Echo(ctx, c, []byte("soon reset\n")) }},
		{"with 64 KiB of echo unread", func(c *net.TCPConn) error {
			_, err := c.Write(Pattern(64 << 10))
			sleep(ctx, 50*time.Millisecond)
			return err
		}},
		{"just connected", func(*net.TCPConn) error { return nil }},
	}
	for _, v := range victims {
		c, err := Dial(ctx, addr)
		if err != nil {
			return fmt.Errorf("victim %s: %w", v.name, err)
		}
		err = v.prepare(c)
		if err == nil {
			err = c.SetLinger(0) // close sends RST
		}
		c.Close()
		if err != nil {
			return fmt.Errorf("victim %s: %w", v.name, err)
		}
	}
	sleep(ctx, 100*time.Millisecond)
	for i, c := range healthy {
		if err := Echo(ctx, c, []byte("still there?\n")); err != nil {
			return fmt.Errorf("connection %d of %d opened before the resets: %w", i+1, len(healthy), err)
		}
	}
	if err := EchoOnce(ctx, addr, []byte("new after resets\n")); err != nil {
		return fmt.Errorf("new connection after the resets: %w", err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Pattern returns n bytes whose content depends on position, so a lost,
// repeated or reordered chunk shows up as a mismatch.
func Pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// FirstDiff describes where got and want first differ.
func FirstDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d of %d", i, len(want))
		}
	}
	return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
}
