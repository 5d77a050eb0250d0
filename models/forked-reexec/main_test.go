package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"c10klab/models/internal/modelkit"
	"c10klab/models/internal/modeltest"
	"c10klab/runner/conformance"
)

// The contract (echo, half-close, reset, SIGTERM to the process group,
// SO_REUSEPORT, backlog) is checked for every model by runner/conformance;
// these are the forked-reexec model's own behaviours.

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

// Each held connection is served by a child of its own; children are
// reaped as their connections close.
func TestEchoChildPerConnection(t *testing.T) {
	const n = 150
	p := modeltest.Start(t, bin)
	conns := modeltest.DialEcho(t, p.Addr(), n)

	modeltest.EchoRound(t, conns)

	pid := p.Pid()
	if kids := modeltest.ChildrenOf(pid); len(kids) != n {
		t.Fatalf("%d connections, %d children; want one each", n, len(kids))
	}
	for _, c := range conns {
		c.Close()
	}
	// Zombies still list their parent, so reaching zero proves reaping.
	modeltest.WaitFor(t, 5*time.Second, func() error {
		if kids := modeltest.ChildrenOf(pid); len(kids) > 0 {
			return fmt.Errorf("%d children left after all connections closed", len(kids))
		}
		return nil
	})
}

// A reset ends its own child only, and that child is reaped.
func TestResetReapsItsChild(t *testing.T) {
	p := modeltest.Start(t, bin)
	conns := modeltest.DialEcho(t, p.Addr(), 3)
	conns[0].SetLinger(0)
	conns[0].Close()
	time.Sleep(100 * time.Millisecond)
	modeltest.Echo(t, conns[1], "still here")
	modeltest.Echo(t, conns[2], "me too")
	modeltest.DialEcho(t, p.Addr(), 1)
	modeltest.WaitFor(t, 3*time.Second, func() error {
		if k := modeltest.ChildrenOf(p.Pid()); len(k) != 3 {
			return fmt.Errorf("%d children, want 3 (the reset one reaped)", len(k))
		}
		return nil
	})
}

// SIGTERM to the parent alone (the conformance suite signals the whole
// group, as the runner does): the parent exits within 2 s and takes every
// child with it, as its README says.
func TestSIGTERMToParentOnly(t *testing.T) {
	const n = 50
	p := modeltest.Start(t, bin)
	modeltest.DialEcho(t, p.Addr(), n)
	pid := p.Pid()
	kids := modeltest.ChildrenOf(pid)
	if len(kids) != n {
		t.Fatalf("%d children before SIGTERM, want %d", len(kids), n)
	}
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(2 * time.Second) {
		t.Fatalf("still running 2 s after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if err := p.ExitErr(); err != nil {
		t.Errorf("exit: %v\nstderr: %s", err, p.Stderr())
	}
	if left := modeltest.ChildrenOf(pid); len(left) != 0 {
		t.Errorf("children %v left behind", left)
	}
	for _, k := range kids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", k)); err == nil {
			t.Errorf("child %d still exists after the model exited", k)
		}
	}
}

// At the cap the parent stops accepting: the next connection waits in the
// backlog, unechoed, until a child exits.
func TestForkCap(t *testing.T) {
	p := modeltest.Start(t, bin, EnvForkCap+"=3")
	conns := modeltest.DialEcho(t, p.Addr(), 3)
	fourth := assertCapped(t, p, 3)
	conns[0].Close()
	fourth.SetDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, len("waiting"))
	if _, err := io.ReadFull(fourth, got); err != nil || string(got) != "waiting" {
		t.Fatalf("4th connection after one closed: got %q, %v", got, err)
	}
}

// assertCapped opens one more connection than the cap allows (cap held
// already) and checks it gets no echo and a fork_cap line appears.
func assertCapped(t *testing.T, p *conformance.Instance, cap int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatalf("dial past the cap: %v (the backlog should hold it)", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("waiting")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, err := c.Read(make([]byte, 16)); n > 0 || !os.IsTimeout(err) {
		t.Fatalf("connection past a cap of %d: read %d bytes, %v; want no echo", cap, n, err)
	}
	modeltest.WaitFor(t, 3*time.Second, func() error {
		for _, r := range p.Reports() {
			if r.Kind == modelkit.KindForkCap && r.Conns == int64(cap) {
				return nil
			}
		}
		return fmt.Errorf("no fork_cap report with conns=%d on stdout: %q", cap, p.Stdout())
	})
	return c
}

func TestPresets(t *testing.T) {
	somaxconn, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	maxBacklog, _ := strconv.Atoi(strings.TrimSpace(string(somaxconn)))
	tests := []struct {
		name    string
		env     []string
		backlog int
		cap     int // 0: no cap to check
	}{
		{name: "default", backlog: min(modelkit.DefaultBacklog, maxBacklog)},
		{name: "seed", env: []string{"C10K_PRESET=seed"}, backlog: 5, cap: 40},
		{name: "seed overridden", env: []string{"C10K_PRESET=seed", "C10K_BACKLOG=7", EnvForkCap + "=2"},
			backlog: 7, cap: 2},
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) not installed")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := modeltest.Start(t, bin, tt.env...)
			if got := modeltest.ListenBacklog(t, p.Addr()); got != tt.backlog {
				t.Errorf("backlog %d, want %d", got, tt.backlog)
			}
			if tt.cap > 0 {
				// One at a time: a burst would overflow a backlog of 5
				// and wait out SYN retransmits.
				for range tt.cap {
					modeltest.DialEcho(t, p.Addr(), 1)
				}
				assertCapped(t, p, tt.cap)
			}
		})
	}
}

// A child that cannot be started is reported as kind fork with its errno,
// its connection is closed, and the parent serves again once the resource
// is back. RLIMIT_NPROC stands in for pid_max or a pids cgroup: the model
// runs as nobody (root is exempt from it) under a limit of nprocLimit
// tasks, and the test fills the rest of the user's allowance with sleeping
// processes, so the very next clone(2) fails with EAGAIN.
func TestForkFailure(t *testing.T) {
	const nprocLimit = 40
	p := modeltest.StartForkLimited(t, bin, nprocLimit)
	pid := p.Pid()
	// Warm up so the parent has every thread it will need.
	for range 3 {
		for _, c := range modeltest.DialEcho(t, p.Addr(), 2) {
			c.Close()
		}
	}
	modeltest.WaitFor(t, 3*time.Second, func() error {
		if k := modeltest.ChildrenOf(pid); len(k) > 0 {
			return fmt.Errorf("%d children still running", len(k))
		}
		return nil
	})
	modeltest.ForkRefused(t, p, nprocLimit)
}

// TestChildCost measures what one child costs (the README quotes it) and
// fails if a change makes children much heavier. The README's figures at
// larger counts come from FORKED_COST_CONNS=1000,3000.
func TestChildCost(t *testing.T) {
	counts := []int{200}
	if v := os.Getenv("FORKED_COST_CONNS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("FORKED_COST_CONNS=%q: %v", v, err)
			}
			counts = append(counts, n)
		}
	}
	for _, n := range counts {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			before := modeltest.Meminfo(t)
			p := modeltest.Start(t, bin)
			conns := modeltest.DialEcho(t, p.Addr(), n)
			modeltest.EchoRound(t, conns)
			c := modeltest.CostOf(t, p.Pid())
			after := modeltest.Meminfo(t)
			if c.Kids != n {
				t.Fatalf("%d children, want %d", c.Kids, n)
			}
			t.Logf("%d children: per child private %.1f kB, Pss %.1f kB, page tables %.1f kB, tasks %.2f; "+
				"parent Pss %d kB; system-wide per connection (noisy): KernelStack %+.1f kB, PageTables %+.1f kB",
				n, c.Private/float64(n), c.PSS/float64(n), c.PTE/float64(n), float64(c.Tasks)/float64(n), c.ParentPSS,
				float64(after["KernelStack"]-before["KernelStack"])/float64(n),
				float64(after["PageTables"]-before["PageTables"])/float64(n))
			if c.Private/float64(n) > 4<<10 {
				t.Errorf("private memory per child %.1f kB, want under 4 MiB", c.Private/float64(n))
			}
			if c.Tasks > 8*n {
				t.Errorf("%.1f threads per child, want at most 8", float64(c.Tasks)/float64(n))
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		backlog int
		cap     int
		wantErr bool
	}{
		{name: "defaults", backlog: modelkit.DefaultBacklog, cap: 0},
		{name: "seed", env: map[string]string{"C10K_PRESET": "seed"}, backlog: 5, cap: 40},
		{name: "seed, explicit backlog", env: map[string]string{"C10K_PRESET": "seed", "C10K_BACKLOG": "128"},
			backlog: 128, cap: 40},
		{name: "seed, explicit no cap", env: map[string]string{"C10K_PRESET": "seed", EnvForkCap: "0"},
			backlog: 5, cap: 0},
		{name: "cap", env: map[string]string{EnvForkCap: "100"}, backlog: modelkit.DefaultBacklog, cap: 100},
		{name: "negative cap", env: map[string]string{EnvForkCap: "-1"}, wantErr: true},
		{name: "unknown preset", env: map[string]string{"C10K_PRESET": "nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"C10K_PRESET", "C10K_BACKLOG", EnvForkCap} {
				t.Setenv(k, tt.env[k])
			}
			cfg, forkCap, err := loadConfig()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (cfg.Backlog != tt.backlog || forkCap != tt.cap) {
				t.Fatalf("backlog %d cap %d, want %d and %d", cfg.Backlog, forkCap, tt.backlog, tt.cap)
			}
		})
	}
}
