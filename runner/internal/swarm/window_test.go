package swarm

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// agentSession drives an in-process agent command by command.
type agentSession struct {
	t    *testing.T
	cmd  *json.Encoder
	stat chan Status
	stop func()
}

func startSession(t *testing.T, cfg AgentConfig) *agentSession {
	t.Helper()
	cmdR, cmdW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- RunAgent(cfg, cmdR, outW)
		outW.Close()
	}()
	s := &agentSession{t: t, cmd: json.NewEncoder(cmdW), stat: make(chan Status, 64)}
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var st Status
			if json.Unmarshal(sc.Bytes(), &st) == nil {
				select {
				case s.stat <- st:
				default: // the test reads only what it waits for
				}
			}
		}
		close(s.stat)
	}()
	s.stop = func() {
		cmdW.Close()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *agentSession) send(c Command) {
	s.t.Helper()
	if err := s.cmd.Encode(c); err != nil {
		s.t.Fatal(err)
	}
}

// await returns the first status for which want holds.
func (s *agentSession) await(within time.Duration, want func(Status) bool) Status {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case st, ok := <-s.stat:
			if !ok {
				s.t.Fatal("agent stopped")
			}
			if want(st) {
				return st
			}
		case <-deadline:
			s.t.Fatalf("no status as wanted within %v", within)
		}
	}
}

// A window counts only the connections whose every echo due in it came
// back: here the server stops echoing on every other connection once the
// window has begun, and those are not sustained though they stay open.
func TestWindowCountsOnlyConnectionsServedThroughout(t *testing.T) {
	var silence atomic.Bool
	var n atomic.Int32
	addr := server(t, func(c net.Conn) {
		odd := n.Add(1)%2 == 1
		buf := make([]byte, 256)
		for {
			k, err := c.Read(buf)
			if err != nil {
				c.Close()
				return
			}
			if odd && silence.Load() {
				continue // hold the socket, echo nothing
			}
			c.Write(buf[:k])
		}
	})
	const conns = 40
	// A second per message, as by default: on a busy machine the healthy
	// half must not miss a deadline for want of CPU.
	cfg := testConfig(addr)
	cfg.Interval, cfg.Deadline, cfg.StatusEvery = time.Second, time.Second, time.Second
	s := startSession(t, cfg)
	s.send(Command{Target: conns})
	s.await(10*time.Second, func(st Status) bool { return st.Sustained == conns })

	s.send(Command{Window: 1})
	time.Sleep(100 * time.Millisecond)
	silence.Store(true)
	time.Sleep(2500 * time.Millisecond) // past an interval and a deadline: every silent connection misses
	s.send(Command{Evaluate: 1})
	st := s.await(5*time.Second, func(st Status) bool { return st.Evaluated == 1 })
	if st.WindowSustained != conns/2 {
		t.Fatalf("window sustained %d, want %d (open %d, failures %v)", st.WindowSustained, conns/2, st.Open, st.Failures)
	}
	if st.Open != conns {
		t.Fatalf("open %d, want %d: the silent connections are held, not closed", st.Open, conns)
	}

	// A window that starts after the silence counts the same half: a
	// connection whose in-flight echo is overdue is not sustained even
	// before its next send notices it.
	s.send(Command{Window: 2})
	time.Sleep(2500 * time.Millisecond)
	s.send(Command{Evaluate: 2})
	st = s.await(5*time.Second, func(st Status) bool { return st.Evaluated == 2 })
	if st.WindowSustained != conns/2 {
		t.Fatalf("window 2 sustained %d, want %d", st.WindowSustained, conns/2)
	}
}

// Connections opened after a window began are not sustained through it.
func TestWindowExcludesConnectionsOpenedDuringIt(t *testing.T) {
	addr := server(t, echo)
	cfg := testConfig(addr)
	s := startSession(t, cfg)
	s.send(Command{Target: 10})
	s.await(10*time.Second, func(st Status) bool { return st.Sustained == 10 })
	s.send(Command{Window: 1})
	opened := time.Now()
	s.send(Command{Target: 30})
	s.await(10*time.Second, func(st Status) bool { return st.Sustained == 30 })
	// Every connection must have had an echo due inside the window, or one
	// whose phase falls late is rightly not counted (seen 1 in 20 runs).
	time.Sleep(time.Until(opened.Add(cfg.Interval + cfg.Deadline)))
	s.send(Command{Evaluate: 1})
	st := s.await(5*time.Second, func(st Status) bool { return st.Evaluated == 1 })
	if st.WindowSustained != 10 {
		t.Fatalf("window sustained %d, want the 10 open before it began", st.WindowSustained)
	}
}

func TestParseCommandRefusesWhatNoAgentCanDo(t *testing.T) {
	for _, line := range []string{`{"target":-5}`, `{"target":1e12}`, `{"target":99999999}`, `{"window":-1}`,
		`{"window":1,"evaluate":1}`, `not json`, `{"target":"x"}`,
		`{"report":-1}`, `{"report":1,"target":5}`, `{"report":1,"window":2}`, `{"report":1,"hostile":3}`} {
		if c, err := ParseCommand([]byte(line)); err == nil {
			t.Errorf("ParseCommand(%s) = %+v, want an error", line, c)
		}
	}
	for _, line := range []string{`{"target":0}`, `{"target":20000}`, `{"window":3}`, `{"evaluate":3}`, `{"report":3}`, `{"target":0,"report":3}`} {
		if _, err := ParseCommand([]byte(line)); err != nil {
			t.Errorf("ParseCommand(%s): %v", line, err)
		}
	}
}

// A report is answered at once, between the agent's own statuses, and
// changes nothing: the connections asked for stay open, and once each has
// had its echo they are all served (sustained or fresh), which is what a
// step's settle waits for.
func TestReportAnswersAtOnceAndChangesNothing(t *testing.T) {
	addr := server(t, echo)
	cfg := testConfig(addr)
	cfg.StatusEvery = time.Hour // every status the test sees answers a command
	s := startSession(t, cfg)
	const conns = 10
	s.send(Command{Target: conns, Seq: 1})
	s.await(5*time.Second, func(st Status) bool { return st.Acked == 1 })
	var st Status
	for n := 2; ; n++ {
		s.send(Command{Report: n})
		st = s.await(5*time.Second, func(st Status) bool { return st.Acked == n })
		if st.Open == conns && st.Connecting == 0 && st.Sustained+st.Fresh >= st.Open {
			break
		}
		if n > 100 {
			t.Fatalf("after %d reports: open %d, connecting %d, sustained %d, fresh %d; want all %d served", n, st.Open, st.Connecting, st.Sustained, st.Fresh, conns)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Target != conns {
		t.Fatalf("target %d after reports, want %d", st.Target, conns)
	}
}

// fresh counts the open, well-behaved connections not yet due an echo:
// those that sent nothing, and a first message out for under a twentieth
// of the deadline; not one out longer, nor a later message.
func TestFreshCountsFirstMessagesJustSent(t *testing.T) {
	a := &agent{cfg: AgentConfig{Deadline: 10 * time.Second}, start: time.Now().Add(-time.Minute)}
	now := a.now()
	young, old := now-int64(10*time.Millisecond), now-int64(5*time.Second)
	a.conns = []conn{
		{state: stateIdle},
		{state: stateOpen},                                                    // nothing sent: fresh
		{state: stateOpen, seq: 1, base: young},                               // first message out 10 ms: fresh
		{state: stateOpen, seq: 1, base: old},                                 // out 5 s, past 500 ms: due
		{state: stateOpen, seq: 1, rseq: 1, base: old},                        // echoed
		{state: stateOpen, seq: 2, rseq: 1, base: young - int64(time.Second)}, // a second message
		{state: stateOpen, hostile: true},                                     // counted apart
		{state: stateConnecting},
	}
	if got := a.fresh(); got != 2 {
		t.Fatalf("fresh() = %d, want 2", got)
	}
}
