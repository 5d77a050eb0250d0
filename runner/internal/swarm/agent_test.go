package swarm

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// server is a loopback TCP server whose per-connection behaviour the test
// chooses.
func server(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func echo(c net.Conn) { io.Copy(c, c); c.Close() }

// runAgent runs an agent in this process against addr with target
// connections until want(status) holds or the time runs out, and returns
// the last status.
func runAgent(t *testing.T, cfg AgentConfig, target int, within time.Duration, want func(Status) bool) Status {
	t.Helper()
	cmdR, cmdW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- RunAgent(cfg, cmdR, outW)
		outW.Close()
	}()
	json.NewEncoder(cmdW).Encode(Command{Target: target})
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	deadline := time.Now().Add(within)
	var last Status
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("bad status line %q: %v", sc.Text(), err)
		}
		if want(last) || time.Now().After(deadline) {
			break
		}
	}
	cmdW.Close()
	go io.Copy(io.Discard, outR)
	if err := <-done; err != nil {
		t.Fatalf("agent: %v", err)
	}
	return last
}

func testConfig(addr netip.AddrPort) AgentConfig {
	return AgentConfig{
		Addr: addr, Interval: 200 * time.Millisecond, Deadline: 200 * time.Millisecond,
		ConnectTimeout: time.Second, MsgSize: 16, Rate: 5000, StatusEvery: 200 * time.Millisecond,
	}
}

func TestAgentSustainsEchoServer(t *testing.T) {
	addr := server(t, echo)
	const n = 300
	st := runAgent(t, testConfig(addr), n, 10*time.Second, func(s Status) bool {
		return s.Sustained == n && s.Echoed >= 3*n
	})
	if st.Open != n || st.Sustained != n {
		t.Fatalf("open %d sustained %d, want %d both", st.Open, st.Sustained, n)
	}
	if len(st.Failures) != 0 || len(st.ClientFailures) != 0 {
		t.Fatalf("unexpected failures %v client %v", st.Failures, st.ClientFailures)
	}
	if st.Echoed > st.Sent || st.Echoed < 3*n {
		t.Fatalf("sent %d echoed %d", st.Sent, st.Echoed)
	}
}

func TestAgentClassifiesServerFailures(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	// closing half-closes and then drains: a plain Close races the agent's
	// first send, and a socket closed with unread bytes in its receive
	// queue sends a reset rather than a FIN (RFC 1122 4.2.2.13), so the
	// agent would see ECONNRESET as often as EOF.
	closing := func(c net.Conn) {
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	}
	// resetting waits for the first message, so the agent is waiting for
	// its echo, and then aborts the connection.
	resetting := func(c net.Conn) {
		buf := make([]byte, 64)
		if _, err := c.Read(buf); err != nil {
			return
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	corrupt := func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			buf[0] ^= 0xff
			c.Write(buf[:n])
		}
	}
	refused := func() netip.AddrPort {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close() // nothing listens there now
		return a
	}
	tests := []struct {
		name string
		addr func() netip.AddrPort
		want string
	}{
		{"never echoes", func() netip.AddrPort { return server(t, silent) }, "deadline"},
		{"closes at once", func() netip.AddrPort { return server(t, closing) }, "read:EOF"},
		{"resets after a message", func() netip.AddrPort { return server(t, resetting) }, "read:ECONNRESET"},
		{"echoes wrong bytes", func() netip.AddrPort { return server(t, corrupt) }, "mismatch"},
		{"nothing listens", refused, "connect:ECONNREFUSED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := runAgent(t, testConfig(tc.addr()), 20, 5*time.Second, func(s Status) bool {
				return s.Failures[tc.want] >= 20
			})
			if st.Failures[tc.want] < 20 {
				t.Fatalf("failures %v, want %s ≥ 20", st.Failures, tc.want)
			}
			if st.Sustained != 0 {
				t.Fatalf("sustained %d, want 0", st.Sustained)
			}
			if len(st.ClientFailures) != 0 {
				t.Fatalf("blamed on the client: %v", st.ClientFailures)
			}
		})
	}
}

func TestAgentConfigValidate(t *testing.T) {
	ok := testConfig(netip.MustParseAddrPort("127.0.0.1:9"))
	tests := []struct {
		name string
		mod  func(*AgentConfig)
	}{
		{"deadline past interval", func(c *AgentConfig) { c.Deadline = 2 * c.Interval }},
		{"tiny message", func(c *AgentConfig) { c.MsgSize = 4 }},
		{"no rate", func(c *AgentConfig) { c.Rate = 0 }},
		{"ipv6", func(c *AgentConfig) { c.Addr = netip.MustParseAddrPort("[::1]:9") }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range tests {
		c := ok
		tc.mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestAgentFlagsRoundTrip(t *testing.T) {
	c := testConfig(netip.MustParseAddrPort("127.0.0.1:4242"))
	c.Index, c.MaxInFlight = 3, 100
	got, err := ParseAgentFlags(c.Args(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got.StatusEvery = c.StatusEvery
	if got != c {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
}

// Latency counts from the scheduled send to the echo's arrival: a server
// that holds every echo 60 ms is measured at 60 ms or more, and well inside
// the deadline.
func TestAgentTimesServerDelay(t *testing.T) {
	const hold = 60 * time.Millisecond
	addr := server(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			time.Sleep(hold)
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	const n = 20
	st := runAgent(t, testConfig(addr), n, 10*time.Second, func(s Status) bool {
		return s.Sustained == n && s.Echoed >= 3*n && len(s.Hist) > 0
	})
	if st.Sustained != n || len(st.Hist) == 0 {
		t.Fatalf("sustained %d of %d, histogram %d bytes", st.Sustained, n, len(st.Hist))
	}
	h, err := decodeHist(st.Hist)
	if err != nil {
		t.Fatal(err)
	}
	p := Percentiles(h)
	if fastest := time.Duration(h.Min()) * time.Microsecond; fastest < hold {
		t.Errorf("fastest echo %v, want at least the server's %v", fastest, hold)
	}
	// The median, not the slowest: on a busy machine the server's own
	// goroutines can be late by more than the deadline's margin.
	if p.P50 >= 200 {
		t.Errorf("median echo %.1f ms, want under the 200 ms deadline", p.P50)
	}
	// A few echoes may go unstamped while the kernel switches timestamping
	// on; most unstamped means the kernel stamps are not being used.
	if st.Unstamped*2 > st.Echoed {
		t.Errorf("%d of %d echoes timed at read, want most timed by their kernel stamp", st.Unstamped, st.Echoed)
	}
}

func TestQuantumKeepsSendsWellInsideTheDeadline(t *testing.T) {
	for _, c := range []struct {
		interval, deadline, want time.Duration
	}{
		{time.Second, time.Second, time.Millisecond},                        // make bench: as before
		{time.Minute, time.Second, 250 * time.Millisecond},                  // the scale profile: a quarter of the deadline
		{time.Minute, 60 * time.Second, 60 * time.Millisecond},              // deadline of the interval
		{200 * time.Millisecond, 200 * time.Millisecond, time.Millisecond},  // never under 1 ms
		{10 * time.Second, 50 * time.Millisecond, 12500 * time.Microsecond}, // quiet: a quarter of the deadline
		{10 * time.Second, 10 * time.Millisecond, 2500 * time.Microsecond},
		{9 * time.Second, time.Second, 9 * time.Millisecond},        // under ten deadlines: as make bench
		{10 * time.Second, time.Second, 41666666 * time.Nanosecond}, // a 240th of the interval
	} {
		if got := time.Duration(quantumFor(c.interval, c.deadline)); got != c.want {
			t.Errorf("quantumFor(%v, %v) = %v, want %v", c.interval, c.deadline, got, c.want)
		}
	}
}

// An idle agent (a message a minute on a few connections) sleeps, and must
// still see a server's reset at once, not at its next send a minute later.
func TestIdleAgentSeesAResetAtOnce(t *testing.T) {
	var mu sync.Mutex
	var held []net.Conn
	addr := server(t, func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
		echo(c)
	})
	cfg := testConfig(addr)
	cfg.Interval, cfg.Deadline = time.Minute, time.Second
	s := startSession(t, cfg)
	s.send(Command{Target: 5})
	before := s.await(10*time.Second, func(st Status) bool { return st.Open == 5 })
	// Idle, it wakes for its statuses (5 a second) and little else; ticking
	// it would wake 100 times a second or more. A busy machine only makes
	// fewer wakes, so the bound cannot flake.
	after := s.await(3*time.Second, func(st Status) bool { return st.Time.Sub(before.Time) >= time.Second })
	secs := after.Time.Sub(before.Time).Seconds()
	if woke := float64(after.Wakes-before.Wakes) / secs; woke > 20 {
		t.Errorf("the idle agent woke %.0f times a second, want only for its 5 statuses", woke)
	}
	mu.Lock()
	c := held[0].(*net.TCPConn)
	c.SetLinger(0)
	c.Close()
	mu.Unlock()
	st := s.await(3*time.Second, func(st Status) bool { return st.Open == 4 })
	if st.Failures["read:ECONNRESET"] != 1 {
		t.Fatalf("failures %v, want one read:ECONNRESET", st.Failures)
	}
}
