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
