// Tests of the forked model (src/forked.c, started through ./run) over real
// loopback sockets. The contract (echo, half-close, reset, SIGTERM to the
// process group, SO_REUSEPORT, backlog) is also checked for every model by
// runner/conformance; these are the forked model's own behaviours: one
// process and one task per connection, reaping, the cap and the seed
// preset, its failure reports and what a child costs.
package forked_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
	"c10klab/models/internal/modeltest"
	"c10klab/runner/conformance"
)

// envForkCap is the model's cap on live children (README.md).
const envForkCap = "C10K_FORK_CAP"

// bin is the compiled server, built by ./run --build into a world-readable
// cache, so that a test may run it as another user.
var bin string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "c10k-forked-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command("./run", "--build")
	cmd.Env = append(os.Environ(), "C10K_FORKED_CACHE="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "./run --build: %v\n", err)
		return 1
	}
	bin = strings.TrimSpace(string(out))
	return m.Run()
}

// tree is the model's process tree at one moment.
type tree struct {
	kids  []int // processes whose parent is the model
	tasks int   // threads of the model and of every child
}

func treeOf(t *testing.T, pid int) tree {
	t.Helper()
	tr := tree{kids: modeltest.ChildrenOf(pid)}
	for _, p := range append([]int{pid}, tr.kids...) {
		n, err := modeltest.StatusField(p, "Threads")
		if err != nil {
			t.Fatal(err)
		}
		tr.tasks += n
	}
	return tr
}

// start runs the model and returns once the child that served the
// readiness probe has gone, so that counts of children are the test's own.
func start(t *testing.T, env ...string) *conformance.Instance {
	t.Helper()
	p := modeltest.Start(t, bin, env...)
	waitNoChildren(t, p.Pid())
	return p
}

func waitNoChildren(t *testing.T, pid int) {
	t.Helper()
	modeltest.WaitFor(t, 3*time.Second, func() error {
		if k := modeltest.ChildrenOf(pid); len(k) > 0 {
			return fmt.Errorf("%d children still running", len(k))
		}
		return nil
	})
}

// The script the runner starts builds the server into its cache and execs
// it, so the model's pid is the server itself (SIGTERM reaches it, not a
// shell), and a second start reuses the binary.
func TestRunScriptExecsCachedBinary(t *testing.T) {
	cache := t.TempDir()
	run, err := filepath.Abs("run")
	if err != nil {
		t.Fatal(err)
	}
	m := conformance.Model{Bin: run, Env: []string{"C10K_FORKED_CACHE=" + cache}}
	var first os.FileInfo
	for round := range 2 {
		p := modeltest.StartModel(t, m)
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid()))
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(exe) != cache || !strings.HasPrefix(filepath.Base(exe), "forked-") {
			t.Fatalf("round %d: the model's pid runs %s, want the binary in the cache %s", round, exe, cache)
		}
		fi, err := os.Stat(exe)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = fi
		} else if !os.SameFile(first, fi) {
			t.Errorf("the second start built the binary again")
		}
		modeltest.DialEcho(t, p.Addr(), 2)
		p.Kill()
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 {
		t.Errorf("cache holds %d files after two starts, want the one binary", len(ents))
	}
}

// Each held connection is served by a child of its own; children are
// reaped as their connections close.
func TestEchoChildPerConnection(t *testing.T) {
	const n = 150
	p := start(t)
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

// What the model is for: N connections cost N tasks, not N times a
// runtime's threads. The whole tree is the parent's one thread plus one
// per connection.
func TestOneTaskPerConnection(t *testing.T) {
	for _, n := range []int{1, 300} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			p := start(t)
			modeltest.DialEcho(t, p.Addr(), n)
			tr := treeOf(t, p.Pid())
			if len(tr.kids) != n || tr.tasks != n+1 {
				t.Fatalf("%d connections: %d children and %d tasks in the tree, want %d and %d",
					n, len(tr.kids), tr.tasks, n, n+1)
			}
		})
	}
}

// A client that sends and half-closes gets every byte back, then the
// model's FIN: the child's blocking send(2) writes all it read before it
// sees EOF, even when the client reads late (the echo outgrows the socket
// buffers).
func TestHalfCloseEchoesEverything(t *testing.T) {
	for _, size := range []int{1, 4096, 4 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			got, want := modeltest.HalfCloseLate(t, bin, size)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d of %d bytes before the model's FIN", len(got), len(want))
			}
		})
	}
}

// A reset ends its own child only, and that child is reaped.
func TestResetReapsItsChild(t *testing.T) {
	p := start(t)
	conns := modeltest.DialEcho(t, p.Addr(), 3)
	conns[0].SetLinger(0)
	conns[0].Close()
	modeltest.Echo(t, conns[1], "still here")
	modeltest.Echo(t, conns[2], "me too")
	modeltest.DialEcho(t, p.Addr(), 1)
	modeltest.WaitFor(t, 3*time.Second, func() error {
		if k := modeltest.ChildrenOf(p.Pid()); len(k) != 3 {
			return fmt.Errorf("%d children, want 3 (the reset one reaped)", len(k))
		}
		return nil
	})
	if p.Exited() {
		t.Fatalf("the model exited: %v", p.ExitErr())
	}
}

// SIGTERM to the parent alone (the conformance suite signals the whole
// group, as the runner does): the parent exits 0 within the contract's
// 2 s and takes every child with it, also one blocked in send(2) because
// its client stopped reading.
func TestSIGTERMToParentOnly(t *testing.T) {
	const n = 50
	p := start(t)
	conns := modeltest.DialEcho(t, p.Addr(), n)
	// Fill both directions' buffers: the child blocks in send.
	go conns[0].Write(make([]byte, 16<<20))
	pid := p.Pid()
	kids := modeltest.ChildrenOf(pid)
	if len(kids) != n {
		t.Fatalf("%d children before SIGTERM, want %d", len(kids), n)
	}
	// /proc/pid/syscall starts with the number of the call a task sleeps in.
	sendto := strconv.Itoa(unix.SYS_SENDTO) + " "
	modeltest.WaitFor(t, 5*time.Second, func() error {
		for _, k := range kids {
			if sc, _ := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", k)); strings.HasPrefix(string(sc), sendto) {
				return nil
			}
		}
		return fmt.Errorf("no child blocked in send(2) yet")
	})
	begin := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(2 * time.Second) {
		t.Fatalf("still running 2 s after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(begin).Round(time.Millisecond))
	if err := p.ExitErr(); err != nil {
		t.Errorf("exit: %v\nstderr: %s", err, p.Stderr())
	}
	for _, k := range kids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", k)); err == nil {
			t.Errorf("child %d still exists after the model exited", k)
		}
	}
}

// A parent killed outright (SIGKILL: no chance to signal anyone) still
// takes its children with it: each asked for SIGKILL when its parent dies.
func TestChildrenDieWithKilledParent(t *testing.T) {
	const n = 20
	p := start(t)
	modeltest.DialEcho(t, p.Addr(), n)
	kids := modeltest.ChildrenOf(p.Pid())
	if len(kids) != n {
		t.Fatalf("%d children, want %d", len(kids), n)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(2 * time.Second) {
		t.Fatal("parent still running after SIGKILL")
	}
	modeltest.WaitFor(t, 3*time.Second, func() error {
		for _, k := range kids {
			// Orphans are reparented and reaped by init or a subreaper;
			// a live one shows a state other than Z.
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", k)); err == nil && !isZombie(st) {
				return fmt.Errorf("child %d still running after its parent was killed", k)
			}
		}
		return nil
	})
}

// isZombie reads the state field of a /proc/PID/stat line.
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// At the cap the parent stops accepting: the next connection waits in the
// backlog, unechoed, until a child exits.
func TestForkCap(t *testing.T) {
	p := start(t, envForkCap+"=3", "C10K_INSTANCE=2")
	conns := modeltest.DialEcho(t, p.Addr(), 3)
	fourth := assertCapped(t, p, 3)
	conns[0].Close()
	fourth.SetDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, len("waiting"))
	if _, err := io.ReadFull(fourth, got); err != nil || string(got) != "waiting" {
		t.Fatalf("4th connection after one closed: got %q, %v", got, err)
	}
	// Every stdout line is a report in the wire format (models/README.md),
	// decoded strictly into the Go models' own type.
	lines := strings.Split(strings.TrimSpace(p.Stdout()), "\n")
	for _, line := range lines {
		var r modelkit.Report
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if r.Model != "forked" || r.Instance != 2 || r.Kind != modelkit.KindForkCap || r.Errno != "" ||
			r.Count < 1 || r.Conns != 3 || time.Since(r.Time).Abs() > time.Minute {
			t.Errorf("report %+v: want model forked, instance 2, kind fork_cap, count ≥ 1, conns 3, time now", r)
		}
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
	if k := modeltest.ChildrenOf(p.Pid()); len(k) != cap {
		t.Fatalf("%d children at a cap of %d", len(k), cap)
	}
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
		{name: "backlog", env: []string{"C10K_BACKLOG= 64 "}, backlog: 64},
		{name: "seed", env: []string{"C10K_PRESET=seed"}, backlog: 5, cap: 40},
		{name: "seed overridden", env: []string{"C10K_PRESET=seed", "C10K_BACKLOG=7", envForkCap + "=2"},
			backlog: 7, cap: 2},
		{name: "seed without cap", env: []string{"C10K_PRESET=seed", envForkCap + "=0"}, backlog: 5},
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) not installed")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, tt.env...)
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

// A configuration the model cannot use ends it before it listens, with
// status 2 and the variable named on stderr.
func TestBadConfigExits2(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"C10K_ADDR=localhost:9999", "C10K_ADDR"},
		{"C10K_ADDR=127.0.0.1", "want ip:port"},
		{"C10K_ADDR=127.0.0.1:70000", "bad port"},
		{"C10K_BACKLOG=many", "C10K_BACKLOG"},
		{"C10K_REUSEPORT=yes", "C10K_REUSEPORT"},
		{envForkCap + "=-1", envForkCap},
		{"C10K_PRESET=nope", "unknown preset"},
		{"C10K_LOOPS=0", "C10K_LOOPS"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin)
			cmd.Env = []string{tt.env}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) || !strings.HasPrefix(stderr.String(), "forked: ") {
				t.Fatalf("stderr %q, want it to start with \"forked: \" and name %q", stderr.String(), tt.want)
			}
		})
	}
}

// An accept that fails for want of descriptors is reported with its errno
// and does not end the model: the connection waits in the listen queue and
// is served once the limit is back. The open-files limit of the running
// parent is lowered so that its next descriptor is over it.
func TestAcceptErrorReported(t *testing.T) {
	p := start(t)
	pid := p.Pid()
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	// accept(2) takes the lowest free number, and the limit bars numbers
	// from it on (descriptors inherited above it stay open).
	used := map[int]bool{}
	for _, e := range fds {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			used[n] = true
		}
	}
	free := 0
	for used[free] {
		free++
	}
	tight := unix.Rlimit{Cur: uint64(free), Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &tight, nil); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", p.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("later"))
	modeltest.WaitFor(t, 3*time.Second, func() error {
		for _, r := range p.Reports() {
			if r.Kind == modelkit.KindAccept && r.Errno == "EMFILE" && r.Conns == 0 {
				return nil
			}
		}
		return fmt.Errorf("no accept EMFILE report: %q", p.Stdout())
	})
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, len("later"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "later" {
		t.Fatalf("after the limit was raised: got %q, %v", got, err)
	}
}

// A child that cannot be started is reported as kind fork with its errno,
// its connection is closed, and the parent serves again once the resource
// is back. RLIMIT_NPROC stands in for pid_max or a pids cgroup: the model
// runs as nobody (root is exempt from it) under a limit of nprocLimit
// tasks, and the test fills the rest of the user's allowance with sleeping
// processes, so the very next fork(2) fails with EAGAIN.
func TestForkFailure(t *testing.T) {
	const nprocLimit = 20
	p := modeltest.StartForkLimited(t, bin, nprocLimit)
	// The readiness probe's child may still be exiting: count the tasks
	// once only the parent is left.
	waitNoChildren(t, p.Pid())
	modeltest.ForkRefused(t, p, nprocLimit)
}

// TestChildCost measures what one child costs (the README quotes it) and
// fails if a change makes children heavier than a few pages: a child is
// the parent's pages shared copy-on-write plus the few it writes. The
// README's figures at larger counts come from FORKED_COST_CONNS=1000,3000.
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
			p := start(t)
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
			if c.Private/float64(n) > 128 {
				t.Errorf("private memory per child %.1f kB, want under 128 kB", c.Private/float64(n))
			}
			if c.Tasks != n {
				t.Errorf("%d tasks in %d children, want one each", c.Tasks, n)
			}
		})
	}
}
