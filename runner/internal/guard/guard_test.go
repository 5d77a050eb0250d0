package guard

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/procfs"
)

// The test binary doubles as the cgexec subcommand and as the models run
// inside the groups (role in GUARD_HELPER).
const helperEnv = "GUARD_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Subcommand {
		err := CgexecMain(os.Args[2:])
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

func runHelper(role string) int {
	switch role {
	case "alloc": // touch up to 512 MiB, 4 MiB at a time
		var keep [][]byte
		for range 128 {
			b := make([]byte, 4<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("survived", len(keep))
		return 0
	case "spin": // burn 300 ms of CPU time (not wall time), within 10 s
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			if ru.Utime.Nano()+ru.Stime.Nano() >= 300e6 {
				break
			}
		}
		return 0
	case "sleep":
		fmt.Println("ready")
		time.Sleep(30 * time.Second)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

func needCgroups(t *testing.T) {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skip(err)
	}
}

// newGroup creates a group that is closed, and checked gone, when the test
// ends, even when it fails.
func newGroup(t *testing.T, lim Limits) *Group {
	t.Helper()
	needCgroups(t)
	name := fmt.Sprintf("test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	g, err := New(name, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// inGroup returns a command that runs argv inside g, with the helper role
// set when role is not "".
func inGroup(t *testing.T, g *Group, role string, argv ...string) *exec.Cmd {
	t.Helper()
	args := g.Wrap(os.Args[0], argv)
	c := exec.Command(args[0], args[1:]...)
	c.Env = append(os.Environ(), helperEnv+"="+role)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Stderr = os.Stderr
	return c
}

func TestOOMKillSeen(t *testing.T) {
	g := newGroup(t, Limits{Memory: 64 << 20, Pids: 64})
	out, err := inGroup(t, g, "alloc", os.Args[0]).Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("allocating 512 MiB under a 64 MiB limit: want SIGKILL, got %v (stdout %q)", err, out)
	}
	memsw, err := readInt(filepath.Join(g.Dir("memory"), "memory.memsw.limit_in_bytes"))
	if err == nil && memsw != 64<<20 {
		t.Errorf("memory+swap limit %d, want 64 MiB (no swap)", memsw)
	}
	ev, u, err := g.Check()
	if err != nil {
		t.Fatal(err)
	}
	if ev.OOMKills < 1 || !ev.Tripped() || ev.ForksRefused != 0 {
		t.Errorf("events %+v (%s), want an OOM kill and no refused fork", ev, ev)
	}
	// The kernel charges in page batches, so the peak may pass the limit
	// by a page or so.
	if u.MemoryMax > 65<<20 || u.MemoryMax < 32<<20 {
		t.Errorf("usage %+v: want a peak near 64 MiB", u)
	}
	if again, _, _ := g.Check(); again.Tripped() {
		t.Errorf("second check reports %s again", again)
	}
}

func TestForksRefusedAndCloseEmpties(t *testing.T) {
	const limit = 20
	g := newGroup(t, Limits{Memory: 256 << 20, Pids: limit})
	dirs := g.Paths()
	// 40 background sleeps: the shell forks until pids.max refuses.
	script := `i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; wait`
	sh := inGroup(t, g, "", "/bin/sh", "-c", script)
	sh.Stderr = nil // the shell's "Cannot fork" is expected
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-sh.Process.Pid, syscall.SIGKILL); sh.Wait() })

	var ev Events
	var u Usage
	for deadline := time.Now().Add(5 * time.Second); ev.ForksRefused == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if ev, u, err = g.Check(); err != nil {
			t.Fatal(err)
		}
	}
	if ev.ForksRefused == 0 || !strings.Contains(ev.String(), "refused") {
		t.Fatalf("no refused fork seen: %+v", ev)
	}
	if u.Pids > limit || u.PidsLimit != limit {
		t.Errorf("pids %d (limit %d), want ≤ %d", u.Pids, u.PidsLimit, limit)
	}
	pids, err := g.PIDs()
	if err != nil || len(pids) < limit/2 {
		t.Fatalf("PIDs() = %v, %v: want the shell's sleeps", pids, err)
	}

	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sh.Wait()
	for _, pid := range pids {
		// A pid may be reused by now, but not within a few ms on a machine
		// with 32k pids; a survivor would be a sleep still running.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(b), "sleep") {
			t.Errorf("pid %d (%q) survived Close", pid, b)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Close (%v)", d, err)
		}
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTreeInGroup checks probe's cgroup mode against a real group: the
// group's process list and cpuacct, which keeps the CPU of processes that
// exited.
// startSleeper starts a process in g that sleeps until the test ends, and
// returns once it runs.
func startSleeper(t *testing.T, g *Group) *exec.Cmd {
	t.Helper()
	sleeper := inGroup(t, g, "sleep", os.Args[0])
	out, err := sleeper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	if _, err := out.Read(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	return sleeper
}

func TestTreeInGroup(t *testing.T) {
	g := newGroup(t, Limits{Memory: 256 << 20, Pids: 64})
	tree := probe.NewTree(probe.TreeConfig{
		CgroupProcs: filepath.Join(g.Dir("memory"), "cgroup.procs"),
		CPUAcct:     g.Dir("cpuacct"),
	})
	if err := inGroup(t, g, "spin", os.Args[0]).Run(); err != nil {
		t.Fatal(err)
	}
	sleeper := startSleeper(t, g)
	p, err := tree.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if p.Procs != 1 || p.Threads < 1 || p.FDs < 3 || p.PSS <= 0 || p.PSS > p.RSS {
		t.Errorf("tree %+v: want the one sleeper, with threads, fds and 0 < PSS ≤ RSS", p)
	}
	if p.CPUUser+p.CPUSys < 0.25 {
		t.Errorf("CPU %.3fs: want ≥ 0.25s from the spinner that exited", p.CPUUser+p.CPUSys)
	}
	pids, err := g.PIDs()
	if err != nil || len(pids) != 1 || pids[0] != sleeper.Process.Pid {
		t.Errorf("PIDs() = %v, %v; want [%d]", pids, err, sleeper.Process.Pid)
	}
	// In every controller's group, cpu included: the model is one
	// scheduling entity.
	own, err := ownCgroups(fmt.Sprintf("/proc/%d/cgroup", sleeper.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Controllers {
		if filepath.Base(own[c]) != g.Name() {
			t.Errorf("sleeper's %s cgroup is %q, want the group %s", c, own[c], g.Name())
		}
	}
}

// A group a killed runner left behind (empty, made over an hour ago) is
// removed when the next group is made; a group with a process in it, or
// made just now, is not.
func TestStaleGroupsRemoved(t *testing.T) {
	needCgroups(t)
	lim := Limits{Memory: 256 << 20, Pids: 64}
	group := func(suffix string) *Group {
		g, err := New(OwnedName(os.Getpid(), "test-stale-"+suffix), lim)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		return g
	}
	backdate := func(g *Group) {
		old := time.Now().Add(-2 * staleAfter)
		for _, c := range Controllers {
			if err := os.Chtimes(g.Dir(c), old, old); err != nil {
				t.Skipf("cannot backdate a cgroup folder here: %v", err)
			}
		}
	}
	left, busy, fresh := group("left"), group("busy"), group("fresh")
	startSleeper(t, busy)
	backdate(left)
	backdate(busy)
	// A group named after an owner that is gone: removed at once, however new.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	orphan := map[string]string{}
	for _, c := range Controllers {
		orphan[c] = filepath.Join(filepath.Dir(left.Dir(c)), OwnedName(gone.Process.Pid, "orphan"))
		if err := os.Mkdir(orphan[c], 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(orphan[c]) })
	}

	group("next")
	for _, c := range Controllers {
		if _, err := os.Stat(left.Dir(c)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale empty group %s: stat error %v, want it removed", left.Dir(c), err)
		}
		if _, err := os.Stat(orphan[c]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("group %s of a gone owner: stat error %v, want it removed at once", orphan[c], err)
		}
		for _, g := range []*Group{busy, fresh} {
			if _, err := os.Stat(g.Dir(c)); err != nil {
				t.Errorf("group %s was removed (%v); it is in use or new", g.Dir(c), err)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	m, err := procfs.ReadMeminfo()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := DefaultMemory()
	if err != nil {
		t.Skip(err) // a small machine has no safe default
	}
	if mem > m["MemTotal"]-4*gib || mem > m["MemAvailable"]-2*gib+64<<20 || mem > m["MemTotal"]-m["MemTotal"]/5 {
		t.Errorf("default memory %d MiB leaves too little of MemTotal %d / MemAvailable %d MiB", mem>>20, m["MemTotal"]>>20, m["MemAvailable"]>>20)
	}
	pids, err := DefaultPids()
	if err != nil {
		t.Fatal(err)
	}
	pidMax, _ := readInt("/proc/sys/kernel/pid_max")
	if pids <= 0 || pids > pidMax*9/10 {
		t.Errorf("default pids %d: want in (0, 90%% of pid_max %d]", pids, pidMax)
	}
}

func TestWatchdog(t *testing.T) {
	m, err := procfs.ReadMeminfo()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		floor int64
		low   bool
	}{
		{m["MemAvailable"] + gib, true}, // a floor above what is free
		{1 << 20, false},
	}
	for _, tc := range tests {
		w, err := NewWatchdog(tc.floor)
		if err != nil {
			t.Fatal(err)
		}
		s, err := w.Check()
		if err != nil {
			t.Fatal(err)
		}
		if s.Low() != tc.low || !strings.Contains(s.String(), "floor") {
			t.Errorf("floor %d: %s, want low=%v", tc.floor, s, tc.low)
		}
	}
	w, err := NewWatchdog(0)
	if err != nil {
		t.Fatal(err)
	}
	if w.Floor < gib || w.Floor < w.MemTotal/10 {
		t.Errorf("default floor %d: want ≥ 1 GiB and ≥ 10%% of %d", w.Floor, w.MemTotal)
	}
}

func TestErrorsNameFileAndCause(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"missing file", func() error { return writeFile("/sys/fs/cgroup/memory/no-such-dir/memory.limit_in_bytes", "1") },
			"guard: write /sys/fs/cgroup/memory/no-such-dir/memory.limit_in_bytes: no such file or directory"},
		{"bad name", func() error { _, err := New("a/b", Limits{}); return err }, `guard: bad group name "a/b"`},
		{"no such group dir", func() error { return ExecIn([]string{"/nonexistent"}, []string{"true"}, nil) },
			"guard: write /nonexistent/cgroup.procs: no such file or directory"},
		{"cgexec without --", func() error { return CgexecMain([]string{"/x", "prog"}) }, "want <cgroup dirs...> -- prog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTreeSampledThroughGroup: a shell and its 40 sleeping children in a
// group, sampled as the runner does each second, through the group's
// files alone: the processes and their tasks, the same as a walk of each
// one's stat finds, with no per-process file read. Detail then reads the
// descriptors and PSS, within its budget.
func TestTreeSampledThroughGroup(t *testing.T) {
	const n = 40
	g := newGroup(t, Limits{Memory: 256 << 20, Pids: 256})
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do sleep 30 & i=$((i+1)); done; echo ready; wait`, n)
	sh := inGroup(t, g, "", "/bin/sh", "-c", script)
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-sh.Process.Pid, syscall.SIGKILL); sh.Wait() })
	if _, err := out.Read(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	procs := filepath.Join(g.Dir("memory"), "cgroup.procs")
	cg := probe.NewTree(probe.TreeConfig{Roots: []int{sh.Process.Pid},
		CgroupProcs: procs, CPUAcct: g.Dir("cpuacct"), Memory: g.Dir("memory"), Pids: g.Dir("pids")})
	walk := probe.NewTree(probe.TreeConfig{CgroupProcs: procs, CPUAcct: g.Dir("cpuacct")})
	// Wait until every child has exec'd sleep: until then a child holds
	// the shell's descriptors, and the counts move under the test.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pids, err := g.PIDs()
		if err != nil {
			t.Fatal(err)
		}
		sleeps := 0
		for _, pid := range pids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && string(b) == "sleep\n" {
				sleeps++
			}
		}
		if sleeps == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d children became sleep within 5 s", sleeps, n)
		}
	}
	p, err := cg.Sample()
	if err != nil {
		t.Fatal(err)
	}
	w, err := walk.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if p.Procs != n+1 || p.Threads != n+1 || p.Threads != w.Threads {
		t.Errorf("through the group: %d procs, %d tasks; the walk: %d procs, %d threads; want %d of each", p.Procs, p.Threads, w.Procs, w.Threads, n+1)
	}
	if cg.ProcReads() != 0 || walk.ProcReads() < n+1 {
		t.Errorf("per-process reads: %d through the group (want 0), %d by the walk (want ≥ %d)", cg.ProcReads(), walk.ProcReads(), n+1)
	}
	if p.Mem <= 0 || !p.NoDetail || p.FDs != 0 {
		t.Errorf("through the group: mem %d, no detail %v, fds %d; want memory charged and no per-process figure", p.Mem, p.NoDetail, p.FDs)
	}
	d, err := cg.Detail()
	if err != nil {
		t.Fatal(err)
	}
	// Every sleep holds the shell's stdin, stdout (the pipe) and stderr.
	if d.NoDetail || d.Procs != n+1 || d.FDs < 3*(n+1) || d.PSS <= 0 || d.PSS > d.RSS || d.Unread != 0 && d.FDs > 5*(n+1) {
		t.Errorf("detail %+v: want %d procs, ≥ %d fds, 0 < PSS ≤ RSS", d, n+1, 3*(n+1))
	}
	if d.Unread == 0 && d.FDs != w.FDs {
		t.Errorf("detail read every process: %d fds, the walk %d", d.FDs, w.FDs)
	}
}
