package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"c10klab/runner/internal/procfs"
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
