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

const gib = 1 << 30

// Limits configures a Group. Zero values take the defaults.
type Limits struct {
	// Memory is the memory limit in bytes (no swap on top); 0 means
	// DefaultMemory.
	Memory int64
	// Pids caps tasks in the group (threads count, as in the kernel);
	// 0 means DefaultPids.
	Pids int64
	// Parent is the folder holding the group, as a path from each
	// hierarchy's root, e.g. "/c10klab". "" means DefaultParent under the
	// cgroup the caller is in: the model then stays inside whatever
	// confines the runner (a systemd slice, a container), rather than
	// escaping to the root of the hierarchy.
	Parent string
}

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

// Usage is the group's resource use and failure counters, read together.
type Usage struct {
	Memory        int64   // bytes charged now (memory.usage_in_bytes)
	MemoryMax     int64   // peak bytes charged
	MemoryLimit   int64   // bytes
	MemoryFailcnt int64   // times the limit was hit (reclaim, not only OOM)
	OOMKills      int64   // processes the OOM killer killed in the group
	UnderOOM      bool    // the group is out of memory right now
	Pids          int64   // tasks now (threads; zombies not yet reaped count)
	PidsLimit     int64   // pids.max
	ForksRefused  int64   // fork/clone calls refused by pids.max ("max" in pids.events)
	CPUUser       float64 // seconds, including processes that exited
	CPUSys        float64 // seconds
}

// Usage reads the group's counters.
func (g *Group) Usage() (Usage, error) {
	var u Usage
	mem, pids, cpu := g.dirs["memory"], g.dirs["pids"], g.dirs["cpuacct"]
	ints := []struct {
		path string
		dst  *int64
	}{
		{filepath.Join(mem, "memory.usage_in_bytes"), &u.Memory},
		{filepath.Join(mem, "memory.max_usage_in_bytes"), &u.MemoryMax},
		{filepath.Join(mem, "memory.limit_in_bytes"), &u.MemoryLimit},
		{filepath.Join(mem, "memory.failcnt"), &u.MemoryFailcnt},
		{filepath.Join(pids, "pids.current"), &u.Pids},
	}
	for _, f := range ints {
		var err error
		if *f.dst, err = readInt(f.path); err != nil {
			return u, err
		}
	}
	oom, err := readKeyed(filepath.Join(mem, "memory.oom_control"))
	if err != nil {
		return u, err
	}
	u.OOMKills, u.UnderOOM = oom["oom_kill"], oom["under_oom"] != 0
	ev, err := readKeyed(filepath.Join(pids, "pids.events"))
	if err != nil {
		return u, err
	}
	u.ForksRefused = ev["max"]
	if u.PidsLimit, err = readLimit(filepath.Join(pids, "pids.max")); err != nil {
		return u, err
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"cpuacct.usage_user", &u.CPUUser}, {"cpuacct.usage_sys", &u.CPUSys}} {
		ns, err := readInt(filepath.Join(cpu, f.name))
		if err != nil {
			return u, err
		}
		*f.dst = float64(ns) / 1e9
	}
	return u, nil
}

// Events are the failures the limits caused since the previous Check.
type Events struct {
	OOMKills     int64 // processes killed for memory
	ForksRefused int64 // forks (or thread creations) refused
	MemoryLimit  int64 // the limits, for the message
	PidsLimit    int64
}

// Tripped reports whether a limit bit the model.
func (e Events) Tripped() bool { return e.OOMKills > 0 || e.ForksRefused > 0 }

// String says what happened, e.g. "memory limit 64 MiB: 1 process OOM-killed".
func (e Events) String() string {
	var parts []string
	if e.OOMKills > 0 {
		parts = append(parts, fmt.Sprintf("memory limit %d MiB: %d process(es) OOM-killed", e.MemoryLimit>>20, e.OOMKills))
	}
	if e.ForksRefused > 0 {
		parts = append(parts, fmt.Sprintf("pids limit %d: %d fork(s)/thread creation(s) refused (EAGAIN)", e.PidsLimit, e.ForksRefused))
	}
	if len(parts) == 0 {
		return "no limit reached"
	}
	return strings.Join(parts, "; ")
}

// Check reports the OOM kills and refused forks since the previous Check
// (or since New), with the usage read for it.
func (g *Group) Check() (Events, Usage, error) {
	u, err := g.Usage()
	if err != nil {
		return Events{}, u, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e := Events{
		OOMKills:     u.OOMKills - g.seen.OOMKills,
		ForksRefused: u.ForksRefused - g.seen.ForksRefused,
		MemoryLimit:  u.MemoryLimit,
		PidsLimit:    u.PidsLimit,
	}
	g.seen = u
	return e, u, nil
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

// DefaultMemory is the memory limit that leaves the machine safe:
// MemTotal minus max(4 GiB, 20%), and never more than MemAvailable minus
// 2 GiB (other work on the machine is using memory too).
func DefaultMemory() (int64, error) {
	m, err := procfs.ReadMeminfo()
	if err != nil {
		return 0, fmt.Errorf("guard: %w", err)
	}
	total, avail := m["MemTotal"], m["MemAvailable"]
	lim := min(total-max(4*gib, total/5), avail-2*gib)
	if lim < 256<<20 {
		return 0, fmt.Errorf("guard: too little memory for a safe default limit (MemTotal %d MiB, MemAvailable %d MiB); set Limits.Memory", total>>20, avail>>20)
	}
	return lim, nil
}

// DefaultPids caps the group's tasks so the rest of the machine can still
// fork: the lower of kernel.pid_max and kernel.threads-max, less the tasks
// that exist now, less a reserve of max(1024, 10%).
func DefaultPids() (int64, error) {
	pidMax, err := readInt("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0, err
	}
	threadsMax, err := readInt("/proc/sys/kernel/threads-max")
	if err != nil {
		return 0, err
	}
	// The 4th field of loadavg, "running/total", counts every task.
	const loadavg = "/proc/loadavg"
	b, err := os.ReadFile(loadavg)
	if err != nil {
		return 0, fmt.Errorf("guard: read %s: %w", loadavg, unwrap(err))
	}
	la, err := procfs.ParseLoadavg(b)
	if err != nil {
		return 0, fmt.Errorf("guard: %s: %w", loadavg, err)
	}
	tasks := la.Tasks
	ceiling := min(pidMax, threadsMax)
	lim := ceiling - tasks - max(1024, ceiling/10)
	if lim < 64 {
		return 0, fmt.Errorf("guard: too few free pids for a safe default limit (pid_max %d, threads-max %d, %d tasks); set Limits.Pids", pidMax, threadsMax, tasks)
	}
	return lim, nil
}

// Supported says why cgroups cannot be used here, or nil if they can.
func Supported() error {
	if euid := os.Geteuid(); euid != 0 {
		return fmt.Errorf("guard: cgroups need root (euid %d)", euid)
	}
	mounts, err := v1Mounts("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, c := range Controllers {
		m, ok := mounts[c]
		if !ok {
			return fmt.Errorf("guard: no cgroup v1 %s hierarchy mounted", c)
		}
		if err := unix.Access(m.dir, unix.W_OK); err != nil {
			return fmt.Errorf("guard: %s: %w", m.dir, err)
		}
	}
	return nil
}

// mount is where a cgroup v1 hierarchy is mounted and which of its
// cgroups the mount shows at its top.
type mount struct{ dir, root string }

// v1Mounts maps each cgroup v1 controller to its mount, from a
// mountinfo file. Controllers may share a hierarchy ("cpu,cpuacct"), so
// mount points are not guessed.
func v1Mounts(path string) (map[string]mount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	out := make(map[string]mount)
	for _, m := range procfs.ParseMountinfo(b) {
		if m.FSType != "cgroup" {
			continue
		}
		for _, opt := range m.SuperOptions {
			if slices.Contains(Controllers, opt) {
				if _, dup := out[opt]; !dup {
					out[opt] = mount{dir: m.MountPoint, root: m.Root}
				}
			}
		}
	}
	return out, nil
}

// ownCgroups maps each v1 controller to the cgroup path of a process, from
// its /proc/PID/cgroup file.
func ownCgroups(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("guard: read %s: %w", path, unwrap(err))
	}
	cgs, err := procfs.ParseCgroup(b)
	if err != nil {
		return nil, fmt.Errorf("guard: %s: %w", path, err)
	}
	return procfs.V1Paths(cgs), nil
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

// readInt reads a cgroup or /proc file holding one integer.
func readInt(path string) (int64, error) {
	v, err := procfs.ReadInt(path)
	if err != nil {
		return 0, fmt.Errorf("guard: %w", err)
	}
	return v, nil
}

// readLimit reads a limit file where "max" means none (-1).
func readLimit(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("guard: read %s: %w", path, unwrap(err))
	}
	v, isMax, err := procfs.ParseMax(b)
	if err != nil {
		return 0, fmt.Errorf("guard: parse %s: %w", path, err)
	}
	if isMax {
		return -1, nil
	}
	return v, nil
}

// readKeyed reads a file of "key value" lines (memory.oom_control,
// pids.events).
func readKeyed(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("guard: read %s: %w", path, unwrap(err))
	}
	m, err := procfs.ParseKeyed(b)
	if err != nil {
		return nil, fmt.Errorf("guard: parse %s: %w", path, err)
	}
	return m, nil
}

// unwrap drops *PathError's own "open /path:" prefix, since our messages
// already name the file.
func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
