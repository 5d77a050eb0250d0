package probe

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// TestReadSystemSeesConnections opens n loopback connections and checks
// that the socket counts rise by 2n (client and server side). Other tests
// on the machine open and close sockets too, so the rise must match within
// a tolerance in one of a few attempts.
func TestReadSystemSeesConnections(t *testing.T) {
	const n = 300
	var last string
	for attempt := range 3 {
		before, after, err := measureConns(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range Counters {
			if _, ok := after.Counters[k]; !ok {
				t.Errorf("counter %s missing", k)
			}
		}
		d := results.CounterDeltas(before.Counters, after.Counters)
		// Cumulative counters only rise, so ≥ holds whatever else runs.
		if d["Tcp.ActiveOpens"] < n || d["Tcp.PassiveOpens"] < n {
			t.Fatalf("ActiveOpens +%d, PassiveOpens +%d, want ≥ %d each", d["Tcp.ActiveOpens"], d["Tcp.PassiveOpens"], n)
		}
		if after.MemAvailable <= 0 || after.Slab <= 0 || after.SUnreclaim <= 0 {
			t.Fatalf("meminfo: %+v", after)
		}
		inuse := after.TCPInUse - before.TCPInUse
		estab := d["Tcp.CurrEstab"]
		near := func(v int64) bool { return v >= 2*n*9/10 && v <= 2*n*11/10 }
		if near(inuse) && near(estab) && after.TCPMem > 0 {
			return
		}
		last = fmt.Sprintf("attempt %d: tcp inuse +%d, CurrEstab +%d, tcp mem %d; want +%d each and mem > 0", attempt, inuse, estab, after.TCPMem, 2*n)
	}
	t.Error(last)
}

// measureConns reads the system, opens n connections, reads it again and
// closes everything.
func measureConns(n int) (before, after results.System, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return before, after, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	if before, err = ReadSystem(); err != nil {
		return
	}
	// 4 KiB left unread at each server end: 300 of them pass the kernel's
	// per-CPU reserve of TCP memory (1 MiB), so sockstat's mem is not 0.
	payload := make([]byte, 4096)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return before, after, err
		}
		conns = append(conns, c)
		if _, err := c.Write(payload); err != nil {
			return before, after, err
		}
	}
	for range n {
		conns = append(conns, <-accepted)
	}
	after, err = ReadSystem()
	return
}

// System is a local name for the type ReadSystem returns.
type System = struct {
	MemAvailable, Slab, SUnreclaim, TCPInUse, TCPOrphan, TCPTimeWait, TCPMem int64
	Counters                                                                 map[string]int64
}

// TestReadSystemCountsBusyCPU burns CPU in this process and checks that
// the machine's busy time grew by at least that much. Other processes can
// only add to it, so the lower bound holds on a busy machine.
func TestReadSystemCountsBusyCPU(t *testing.T) {
	before, err := ReadSystem()
	if err != nil {
		t.Fatal(err)
	}
	var self unix.Rusage
	cpu := func() time.Duration {
		if err := unix.Getrusage(unix.RUSAGE_SELF, &self); err != nil {
			t.Fatal(err)
		}
		return time.Duration(self.Utime.Nano() + self.Stime.Nano())
	}
	start := cpu()
	for x := 0; cpu()-start < 300*time.Millisecond; x++ {
		_ = x * x
	}
	burnt := (cpu() - start).Seconds()
	after, err := ReadSystem()
	if err != nil {
		t.Fatal(err)
	}
	// The kernel counts CPU time by ticks (10 ms): allow a few.
	if got := after.CPUBusy - before.CPUBusy; got < burnt-0.05 {
		t.Fatalf("machine busy +%.3f s, this process alone burnt %.3f s", got, burnt)
	}
}

func TestParseCPUAndPressure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, stat string
		want       float64 // seconds at USER_HZ 100
		bad        bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// busy is all but idle and iowait, guest already inside user.
		{"ten fields", "cpu  100 20 300 9000 50 4 60 7 80 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n", 4.91, false},
		{"eight fields", "cpu 100 0 100 500 500 0 0 0\n", 2, false},
		{"no cpu line", "intr 1 2 3\n", 0, true},
		{"not a number", "cpu 1 x 3 4 5 6 7 8\n", 0, true},
		{"bad cpu number", "cpu 1 2 3 4 5 6 7 8\ncpux 1 2 3 4 5 6 7 8\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readCPU(write("stat", tc.stat))
			if tc.bad != (err != nil) {
				t.Fatalf("err %v, want error %v", err, tc.bad)
			}
			if !tc.bad && math.Abs(got*clockTicks()/100-tc.want) > 1e-9 {
				t.Fatalf("busy %v s, want %v", got, tc.want)
			}
		})
	}
	_, per, err := readCPU(write("stat", "cpu 2 0 2 9 9 0 2 0\ncpu1 1 0 1 5 5 0 1 0\ncpu0 1 0 1 4 4 0 1 0\n"))
	if err != nil || len(per) != 2 || per[1] != (results.CPUTime{Busy: 3 / clockTicks(), Softirq: 1 / clockTicks()}) {
		t.Fatalf("per CPU %+v, %v; want cpu1 busy 3 ticks, softirq 1", per, err)
	}
	p := write("memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=68155048\n")
	if got, err := readPressureSome(p); err != nil || got != 2.5 {
		t.Fatalf("pressure some %v, %v; want 2.5 s", got, err)
	}
	if _, err := readPressureSome(write("none", "full total=1\n")); err == nil {
		t.Fatal("no some line: want an error")
	}
}
