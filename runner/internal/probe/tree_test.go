package probe

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

func sample(t *testing.T, tr *Tree) results.Proc {
	t.Helper()
	p, err := tr.Sample()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTreeCountsProcessesFDsAndThreads(t *testing.T) {
	h := startTree(t, "root")
	tr := NewTree(TreeConfig{Roots: []int{h.cmd.Process.Pid}})

	before := sample(t, tr)
	// root + 2 leaves + the leaf orphaned by "mid", which init adopted:
	// only its process group still ties it to the model.
	if before.Procs != 4 {
		pids, _ := tr.PIDs()
		t.Fatalf("procs = %d (%v), want 4", before.Procs, pids)
	}
	if before.Threads < before.Procs {
		t.Errorf("threads %d < procs %d", before.Threads, before.Procs)
	}
	if before.PSS <= 0 || before.PSS > before.RSS {
		t.Errorf("want 0 < PSS ≤ RSS, got PSS %d RSS %d", before.PSS, before.RSS)
	}

	h.do(t, "fds 100")
	h.do(t, "threads 10")
	after := sample(t, tr)
	// The helper's Go runtime may open its poller's epoll and eventfd
	// descriptors lazily while obeying, hence a little slack above 100.
	if d := after.FDs - before.FDs; d < 100 || d > 103 {
		t.Errorf("fds rose by %d, want 100 to 103 (%d → %d)", d, before.FDs, after.FDs)
	}
	// Ten goroutines locked to their threads hold ten threads, though the
	// runtime may hand them idle threads it already had, so the rise alone
	// says little; the root alone now has at least 11.
	if after.Threads < 11+after.Procs-1 {
		t.Errorf("threads %d, want ≥ %d", after.Threads, 11+after.Procs-1)
	}
	// num_threads must agree with the task directories of the same
	// processes (an idle Go process does not churn threads).
	pids, err := tr.PIDs()
	if err != nil {
		t.Fatal(err)
	}
	tasks := 0
	for _, pid := range pids {
		ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			t.Fatal(err)
		}
		tasks += len(ents)
	}
	if again := sample(t, tr); again.Threads != tasks {
		t.Errorf("threads %d, but the task directories of %v hold %d", again.Threads, pids, tasks)
	}
}

func TestTreeCPUIncludesReapedChildren(t *testing.T) {
	h := startTree(t, "root")
	tr := NewTree(TreeConfig{Roots: []int{h.cmd.Process.Pid}})
	cpu := func() float64 { p := sample(t, tr); return p.CPUUser + p.CPUSys }

	tests := []struct {
		command string
		why     string
	}{
		{"spin 300ms", "the root's own CPU"},
		{"childspin 300ms", "a child that exited and was reaped (cutime)"},
	}
	for _, tc := range tests {
		before := cpu()
		h.do(t, tc.command)
		if d := cpu() - before; d < 0.25 {
			t.Errorf("%s: CPU rose by %.3fs, want ≥ 0.25s: %s is missing", tc.command, d, tc.why)
		}
	}
}

func TestTreePSSEstimateStaysClose(t *testing.T) {
	h := startTree(t, "root")
	roots := []int{h.cmd.Process.Pid}
	exact := sample(t, NewTree(TreeConfig{Roots: roots, PSSBudget: -1}))
	// Budget 2: the root and one rotating leaf are read, two leaves are
	// estimated from the measured leaf's PSS/RSS ratio.
	tr := NewTree(TreeConfig{Roots: roots, PSSBudget: 2})
	for range 3 { // a full rotation
		est := sample(t, tr)
		if est.PSS <= 0 || est.PSS > est.RSS {
			t.Fatalf("estimate: want 0 < PSS ≤ RSS, got PSS %d RSS %d", est.PSS, est.RSS)
		}
		if diff := float64(est.PSS-exact.PSS) / float64(exact.PSS); diff < -0.25 || diff > 0.25 {
			t.Errorf("estimated PSS %d is %.0f%% off the exact %d", est.PSS, 100*diff, exact.PSS)
		}
	}
}

func TestTreeGoneIsEmpty(t *testing.T) {
	c := exec.Command("/bin/true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	p := sample(t, NewTree(TreeConfig{Roots: []int{c.Process.Pid}}))
	if p != (results.Proc{}) {
		t.Errorf("exited root: got %+v, want zero", p)
	}
}

func TestFDCounterPaths(t *testing.T) {
	h := startTree(t, "root")
	pid := h.cmd.Process.Pid
	h.do(t, "fds 50")
	stat := newFDCounter()
	if !stat.statSize {
		t.Skip("kernel < 6.2: no fd count in stat(2) of /proc/PID/fd, nothing to compare")
	}
	list := &fdCounter{dents: make([]byte, 1024)} // small: several getdents calls
	a, errA := stat.count(pid)
	b, errB := list.count(pid)
	if errA != nil || errB != nil || a != b || a < 50 {
		t.Errorf("stat size %d (%v), directory listing %d (%v): want equal and ≥ 50", a, errA, b, errB)
	}
}

func TestClockTicks(t *testing.T) {
	if hz := clockTicks(); hz != 100 {
		// Not wrong in itself, but every Linux ABI we know fixes USER_HZ at
		// 100; a different value means the auxv lookup misread something.
		t.Errorf("clock ticks = %v, want 100", hz)
	}
}

// BenchmarkSampleTree is one sample of a tree of 1000 sleeping processes
// (plus their parent): the cost the runner pays each second for a
// fork-per-connection model at 1000 connections.
func BenchmarkSampleTree(b *testing.B) {
	const n = 1000
	h := startTree(b, "sleeps", strconv.Itoa(n))
	for _, bc := range []struct {
		name   string
		budget int
	}{{"pss-budget", 0}, {"pss-all", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			tr := NewTree(TreeConfig{Roots: []int{h.cmd.Process.Pid}, PSSBudget: bc.budget})
			var p results.Proc
			var err error
			for b.Loop() {
				if p, err = tr.Sample(); err != nil {
					b.Fatal(err)
				}
			}
			if p.Procs != n+1 {
				pids, _ := tr.PIDs()
				b.Fatalf("procs = %d, want %d (%d pids)", p.Procs, n+1, len(pids))
			}
			b.ReportMetric(float64(p.Procs), "procs")
		})
	}
}

// TestTreeBudgetEstimates cuts the per-process reads short (a budget of a
// nanosecond still reads a root and minOthers others) on a tree of 60
// sleeps: the processes left unread are counted, and the estimate from
// those read stays near the exact figures, since the sleeps are alike.
func TestTreeBudgetEstimates(t *testing.T) {
	const n = 60
	h := startTree(t, "sleeps", strconv.Itoa(n))
	roots := []int{h.cmd.Process.Pid}
	exact := sample(t, NewTree(TreeConfig{Roots: roots, PSSBudget: -1, Budget: -1}))
	if exact.Procs != n+1 || exact.Unread != 0 {
		t.Fatalf("exact: %d procs, %d unread; want %d, 0", exact.Procs, exact.Unread, n+1)
	}
	tr := NewTree(TreeConfig{Roots: roots, PSSBudget: -1, Budget: time.Nanosecond})
	for range 2 { // the rotation reads other sleeps the second time
		est := sample(t, tr)
		if want := n - minOthers; est.Unread != want || est.Procs != n+1 {
			t.Fatalf("cut short: %d unread of %d procs, want %d of %d", est.Unread, est.Procs, want, n+1)
		}
		near := func(what string, got, want int64) {
			if d := float64(got-want) / float64(want); d < -0.25 || d > 0.25 {
				t.Errorf("estimated %s %d is %.0f%% off the exact %d", what, got, 100*d, want)
			}
		}
		near("fds", int64(est.FDs), int64(exact.FDs))
		near("pss", est.PSS, exact.PSS)
	}
}

// TestTreeRootsOnly reads the roots alone, not every process on the
// machine for their descendants: what the swarm's agents need.
func TestTreeRootsOnly(t *testing.T) {
	h := startTree(t, "root")
	roots := []int{h.cmd.Process.Pid}
	walk := NewTree(TreeConfig{Roots: roots})
	only := NewTree(TreeConfig{Roots: roots, RootsOnly: true})
	w, o := sample(t, walk), sample(t, only)
	if w.Procs != 4 || o.Procs != 1 {
		t.Errorf("walk %d procs, roots only %d: want 4 and 1", w.Procs, o.Procs)
	}
	// One stat, one descriptor count, one smaps_rollup; the walk reads
	// every process's stat on the machine (this test's, at least five).
	if only.ProcReads() != 3 || walk.ProcReads() <= 3+4 {
		t.Errorf("roots only read %d /proc files, the walk %d: want 3, and more than 7", only.ProcReads(), walk.ProcReads())
	}
}
