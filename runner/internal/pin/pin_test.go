package pin

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAvoidMovesEveryThreadAndTheirChildren keeps the process off its first
// CPU, checks every thread and a child started afterwards, then that
// restore gives the CPU back, and that Start still pins a child onto it.
func TestAvoidMovesEveryThreadAndTheirChildren(t *testing.T) {
	cpus, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skip("one CPU: nothing to avoid it with")
	}
	first := cpus[0]
	onFirst := func(tid int) bool {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			t.Fatalf("affinity of %d: %v", tid, err)
		}
		return set.IsSet(first)
	}
	threads := func() []int {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		var tids []int
		for _, e := range ents {
			if tid, err := strconv.Atoi(e.Name()); err == nil {
				tids = append(tids, tid)
			}
		}
		return tids
	}
	restore, err := Avoid([]int{first})
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			restore()
		}
	})
	for _, tid := range threads() {
		if onFirst(tid) {
			t.Errorf("thread %d may still run on CPU %d", tid, first)
		}
	}
	child := exec.Command("sleep", "5")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if onFirst(child.Process.Pid) {
		t.Errorf("a child started afterwards may run on CPU %d", first)
	}
	child.Process.Kill()
	child.Wait()
	pinned := exec.Command("sleep", "5")
	if err := Start(pinned, []int{first}); err != nil {
		t.Fatal(err)
	}
	if !onFirst(pinned.Process.Pid) {
		t.Errorf("Start did not pin its child onto CPU %d", first)
	}
	pinned.Process.Kill()
	pinned.Wait()
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	restored = true
	for _, tid := range threads() {
		if !onFirst(tid) {
			t.Errorf("thread %d not restored to CPU %d", tid, first)
		}
	}
}

// TestFavorRaisesEveryThreadButNotTheChildren favours the process, checks
// every thread, that a child started with Start runs at nice 0 where one
// started plainly inherits the favour, then that restore undoes it.
func TestFavorRaisesEveryThreadButNotTheChildren(t *testing.T) {
	niceOf := func(tid int) int {
		p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			t.Fatalf("nice value of %d: %v", tid, err)
		}
		return 20 - p
	}
	old := niceOf(0)
	want := min(old-1, -5)
	restore, err := Favor(want)
	if err != nil {
		t.Skipf("cannot favour this process (needs CAP_SYS_NICE): %v", err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			restore()
		}
	})
	threads := func() []int {
		var tids []int
		if err := eachThread(func(tid int) error { tids = append(tids, tid); return nil }); err != nil {
			t.Fatal(err)
		}
		return tids
	}
	for _, tid := range threads() {
		if got := niceOf(tid); got != want {
			t.Errorf("thread %d at nice %d, want %d", tid, got, want)
		}
	}
	plain := exec.Command("sleep", "5")
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	started := exec.Command("sleep", "5")
	if err := Start(started, nil); err != nil {
		t.Fatal(err)
	}
	if got := niceOf(plain.Process.Pid); got != want {
		t.Errorf("a child started plainly runs at nice %d, want the runner's %d (else Start need not reset it)", got, want)
	}
	if got := niceOf(started.Process.Pid); got != 0 {
		t.Errorf("a child started with Start runs at nice %d, want 0", got)
	}
	if got := niceOf(0); got != want {
		t.Errorf("Start left its thread at nice %d, want %d", got, want)
	}
	for _, c := range []*exec.Cmd{plain, started} {
		c.Process.Kill()
		c.Wait()
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	restored = true
	for _, tid := range threads() {
		if got := niceOf(tid); got != old {
			t.Errorf("thread %d at nice %d after restore, want %d", tid, got, old)
		}
	}
}
