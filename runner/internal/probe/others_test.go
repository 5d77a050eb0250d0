package probe

import (
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// TestBusiestNamesABusyProcess starts a shell that spins, and checks that
// Busiest names it between two snapshots, and leaves it out when told to.
func TestBusiestNamesABusyProcess(t *testing.T) {
	a, err := SnapshotCPU(nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Half a second of spinning is at least 0.1 s of CPU even when other
	// processes share the CPUs.
	time.Sleep(500 * time.Millisecond)
	b, err := SnapshotCPU(nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	got := Busiest(a, b, nil, 0.1, 1000)
	i := slices.IndexFunc(got, func(p results.ProcCPU) bool { return p.PID == pid })
	if i < 0 {
		t.Fatalf("the spinning shell (pid %d) is not among %+v", pid, got)
	}
	// One thread cannot use more CPU than the time it lived (and ticks
	// are 10 ms).
	if got[i].Comm != "sh" || got[i].CPU > elapsed+0.02 {
		t.Fatalf("got %+v, want sh with 0.1-%.2f s", got[i], elapsed)
	}
	if slices.ContainsFunc(Busiest(a, b, func(p int) bool { return p == pid }, 0.1, 1000), func(p results.ProcCPU) bool { return p.PID == pid }) {
		t.Fatal("a skipped pid was named")
	}
	// Skipped by the snapshot itself: its stat is not even read.
	c, err := SnapshotCPU(func(p int) bool { return p == pid })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.procs[pid]; ok || len(c.procs) == 0 {
		t.Fatalf("snapshot skipping pid %d holds it, or nothing (%d processes)", pid, len(c.procs))
	}
}

func TestBusiestOrderAndReuse(t *testing.T) {
	snap := func(procs map[int]procTime) CPUByProcess { return CPUByProcess{hz: 100, procs: procs} }
	a := snap(map[int]procTime{1: {"init", 1, 100}, 2: {"old", 2, 500}, 3: {"busy", 3, 0}, 6: {"kworker/0:2-events", 6, 1000}})
	b := snap(map[int]procTime{
		1: {"init", 1, 150}, // 0.5 s
		2: {"new", 9, 30},   // the PID was reused (a later start): all 0.3 s are the new process's
		3: {"busy", 3, 200}, // 2 s
		4: {"fresh", 8, 4},  // started in between: 0.04 s, under the floor
		5: {"twin", 7, 50},  // 0.5 s, ties with init: the lower PID first
		// A kworker renames itself for each work item: the same process,
		// 0.1 s, not its 10.1 s of life.
		6: {"kworker/0:2-mm_percpu_wq", 6, 1010},
	})
	got := Busiest(a, b, nil, 0.05, 3)
	want := []results.ProcCPU{{PID: 3, Comm: "busy", CPU: 2}, {PID: 1, Comm: "init", CPU: 0.5}, {PID: 5, Comm: "twin", CPU: 0.5}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	got = Busiest(a, b, nil, 0.05, 10)
	want = append(want, results.ProcCPU{PID: 2, Comm: "new", CPU: 0.3}, results.ProcCPU{PID: 6, Comm: "kworker/0:2-mm_percpu_wq", CPU: 0.1})
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestRunDelayCountsQueuedThreads pins two spinning shells to one CPU:
// each is runnable all the time and gets the CPU about half of it, so
// their run delay grows by about the time they shared it (more on a busy
// machine, never less).
func TestRunDelayCountsQueuedThreads(t *testing.T) {
	var roots []int
	for range 2 {
		cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		var one unix.CPUSet
		one.Set(0)
		if err := unix.SchedSetaffinity(cmd.Process.Pid, &one); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, cmd.Process.Pid)
	}
	tree := NewTree(TreeConfig{Roots: roots})
	mark, err := tree.MarkDelay()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	d, unread, err := tree.DelaySince(mark)
	if err != nil {
		t.Fatal(err)
	}
	if d < 0.2 || unread != 0 {
		t.Fatalf("run delay +%.3f s (%d unread) over 0.5 s of two spinners on one CPU, want ≥ 0.2 with none unread", d, unread)
	}
}

// TestSelfCPUGrows burns CPU in this process and sees SelfCPU count it,
// never more than the wall time it took per thread.
func TestSelfCPUGrows(t *testing.T) {
	before, err := SelfCPU()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	thread := func() int64 {
		var ru unix.Rusage
		unix.Getrusage(unix.RUSAGE_THREAD, &ru)
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	// 100 ms more of this thread's CPU, as the kernel counts it.
	for from := thread(); thread()-from < 100e6 && time.Since(start) < 10*time.Second; {
	}
	after, err := SelfCPU()
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 0.05 || before <= 0 {
		t.Errorf("SelfCPU %.3f → %.3f over %v of spinning: want a rise of ≥ 0.05 s", before, after, time.Since(start))
	}
}
