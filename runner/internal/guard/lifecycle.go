// Package guard keeps the machine safe from a model under test. As root
// with cgroup v1 it puts the model in cgroups of its own (memory, pids,
// cpuacct) with a memory limit, no swap and a pids limit, and reports OOM
// kills and refused forks as data; without them, a Watchdog says when
// available memory falls below a floor so the runner can stop the model
// first.
package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procfs"
)

// Controllers are the cgroup v1 hierarchies a Group makes a cgroup in.
//
// cpu makes the model one scheduling entity, whatever its count of
// processes or threads: a swarm agent that shares the model's CPU then
// gets its fair half of it when both want it, instead of 1/N against a
// model that forks N processes (seen: an agent 1.3 s behind its send
// schedule while the forked model started children on that CPU).
var Controllers = []string{"memory", "pids", "cpuacct", "cpu"}

const (
	// DefaultParent is the folder, under the caller's own cgroup, that
	// holds the groups.
	DefaultParent = "c10klab"
	// killWait bounds Kill: a model forking as fast as it can is still
	// emptied in a few rounds, since the pids limit caps what it can fork.
	killWait = 5 * time.Second
	// staleAfter: an empty group this old is a leftover of a runner that
	// was killed before it could remove it. A live run's group is empty
	// only for moments (before its model starts, after it stops).
	staleAfter = time.Hour
)

// Group is one model's set of cgroups. Its methods may be called from
// several goroutines.
type Group struct {
	name string
	lim  Limits
	dirs map[string]string // controller → cgroup directory

	mu     sync.Mutex
	seen   Usage // counters at the previous Check
	closed bool
}

// New creates the cgroups for name with the limits lim.
func New(name string, lim Limits) (*Group, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("guard: bad group name %q", name)
	}
	if euid := os.Geteuid(); euid != 0 {
		return nil, fmt.Errorf("guard: cgroups need root (euid %d); use a Watchdog", euid)
	}
	mounts, err := v1Mounts("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	if lim.Memory == 0 {
		if lim.Memory, err = DefaultMemory(); err != nil {
			return nil, err
		}
	}
	if lim.Pids == 0 {
		if lim.Pids, err = DefaultPids(); err != nil {
			return nil, err
		}
	}
	if lim.Memory < 0 || lim.Pids < 0 {
		return nil, fmt.Errorf("guard: negative limit (memory %d, pids %d)", lim.Memory, lim.Pids)
	}
	g := &Group{name: name, lim: lim, dirs: make(map[string]string)}
	for _, c := range Controllers {
		m, ok := mounts[c]
		if !ok {
			return nil, fmt.Errorf("guard: no cgroup v1 %s hierarchy in /proc/self/mountinfo", c)
		}
		parent := lim.Parent
		if parent == "" {
			// /proc/self/cgroup paths are from the hierarchy's root; the
			// mount may show only a subtree of it (in a container).
			rel, ok := strings.CutPrefix(own[c], m.root)
			if !ok {
				return nil, fmt.Errorf("guard: own %s cgroup %q is outside its mount %s (root %s)", c, own[c], m.dir, m.root)
			}
			parent = filepath.Join(rel, DefaultParent)
		}
		g.dirs[c] = filepath.Join(m.dir, parent, name)
	}
	if err := g.create(); err != nil {
		return nil, errors.Join(err, g.removeDirs())
	}
	return g, nil
}

// create makes the directories and writes the limits.
func (g *Group) create() error {
	for _, dir := range g.Paths() {
		// A folder left by a crashed run holds stale counters (failcnt,
		// oom_kill); start fresh, which fails if processes are inside.
		if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
			return fmt.Errorf("guard: remove leftover %s: %w", dir, err)
		}
		// Another group's Close may remove the shared parent between our
		// MkdirAll and Mkdir; then make it again.
		var err error
		for range 3 {
			if err = os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				return fmt.Errorf("guard: %w", err)
			}
			if err = unix.Mkdir(dir, 0o755); err != unix.ENOENT {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("guard: mkdir %s: %w", dir, err)
		}
		removeStale(filepath.Dir(dir), time.Now().Add(-staleAfter))
	}
	mem := g.dirs["memory"]
	writes := []struct {
		file, value string
		optional    bool // absent when the kernel lacks swap accounting
	}{
		{filepath.Join(mem, "memory.limit_in_bytes"), strconv.FormatInt(g.lim.Memory, 10), false},
		// memsw is memory+swap: equal to the memory limit means no swap.
		{filepath.Join(mem, "memory.memsw.limit_in_bytes"), strconv.FormatInt(g.lim.Memory, 10), true},
		{filepath.Join(mem, "memory.swappiness"), "0", true},
		{filepath.Join(g.dirs["pids"], "pids.max"), strconv.FormatInt(g.lim.Pids, 10), false},
	}
	for _, w := range writes {
		if w.optional {
			if _, err := os.Stat(w.file); errors.Is(err, os.ErrNotExist) {
				continue
			}
		}
		if err := writeFile(w.file, w.value); err != nil {
			return err
		}
	}
	return nil
}

// Name is the group's name.
func (g *Group) Name() string { return g.name }

// Limits returns the limits in force, defaults resolved.
func (g *Group) Limits() Limits { return g.lim }

// Dir returns the group's directory in controller c ("memory", "pids",
// "cpuacct"), "" for another controller.
func (g *Group) Dir(c string) string { return g.dirs[c] }

// Paths are the directories a process must enter (ExecIn) to be in the
// group, in Controllers order, each once (controllers may share a
// hierarchy, as "cpu,cpuacct" often do).
func (g *Group) Paths() []string {
	var p []string
	for _, c := range Controllers {
		if !slices.Contains(p, g.dirs[c]) {
			p = append(p, g.dirs[c])
		}
	}
	return p
}

// PIDs returns every process in the group (in any of its controllers, so a
// process that entered only some of them is not missed), sorted.
func (g *Group) PIDs() ([]int, error) {
	var all []int
	for _, c := range Controllers {
		path := filepath.Join(g.dirs[c], "cgroup.procs")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("guard: read %s: %w", path, unwrap(err))
		}
		pids, err := procfs.ParsePIDList(b)
		if err != nil {
			return nil, fmt.Errorf("guard: %s: %w", path, err)
		}
		all = append(all, pids...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Kill sends SIGKILL to every process in the group until it is empty, for
// at most a few seconds. Exited processes leave cgroup.procs at once, even
// while they are zombies waiting for their parent.
func (g *Group) Kill() error {
	deadline := time.Now().Add(killWait)
	pause := time.Millisecond
	for {
		pids, err := g.PIDs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("guard: kill group %s: %d process(es) still in it after %v: %v", g.name, len(pids), killWait, pids[:min(len(pids), 10)])
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				return fmt.Errorf("guard: kill pid %d of group %s: %w", pid, g.name, err)
			}
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Close kills every process in the group and removes its directories,
// and the shared parent folders when no other group is in them. Calling
// it again does nothing.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	if err := g.Kill(); err != nil {
		return err
	}
	if err := g.removeDirs(); err != nil {
		return err
	}
	g.closed = true
	for _, c := range Controllers {
		// Fails (EBUSY) while other groups live there, which is fine.
		unix.Rmdir(filepath.Dir(g.dirs[c]))
	}
	return nil
}

// removeDirs removes the group's directories that exist. A cgroup whose
// last task just died can refuse rmdir (EBUSY) for a moment.
func (g *Group) removeDirs() error {
	var errs []error
	for _, c := range Controllers {
		dir := g.dirs[c]
		if dir == "" {
			continue
		}
		for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
			err := unix.Rmdir(dir)
			if err == nil || err == unix.ENOENT {
				break
			}
			if err != unix.EBUSY || time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("guard: rmdir %s: %w", dir, err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// OwnedName names a group after the process that owns it, so that a later
// run can tell at once that the owner is gone: "pid<PID>-<rest>".
func OwnedName(pid int, rest string) string { return fmt.Sprintf("pid%d-%s", pid, rest) }

// ownerGone reports whether a group named by OwnedName belongs to a process
// that no longer exists (the kernel says ESRCH): a pid reused since then
// keeps the group until it is stale by age.
func ownerGone(name string) bool {
	digits, _, ok := strings.Cut(strings.TrimPrefix(name, "pid"), "-")
	if !ok || !strings.HasPrefix(name, "pid") {
		return false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return false
	}
	return unix.Kill(pid, 0) == unix.ESRCH
}

// removeStale removes the groups in parent that hold no process and whose
// owner is provably gone, or were made before cutoff: what a SIGKILLed
// runner leaves behind (its processes die with it, through Pdeathsig, but
// its cgroup folders stay). Best effort: a group that cannot be removed is
// simply left.
func removeStale(parent string, cutoff time.Time) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		info, err := e.Info()
		if err != nil || !ownerGone(e.Name()) && !info.ModTime().Before(cutoff) {
			continue
		}
		if procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err != nil || len(strings.TrimSpace(string(procs))) > 0 {
			continue
		}
		unix.Rmdir(dir) // EBUSY if a process joined meanwhile: then it is not stale
	}
}

// writeFile writes value to a cgroup or /proc file, naming the file and
// the errno on failure ("guard: write …/memory.limit_in_bytes: permission
// denied").
func writeFile(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("guard: write %s: %w", path, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("guard: write %s: %w", path, err)
	}
	return nil
}
