package probe

import (
	"fmt"

	"c10klab/runner/internal/procfs"
)

// The model's cgroup v1 files that a per-second sample reads instead of
// walking /proc. Each is one small read whatever the model's size: for a
// fork-per-connection model of 20,000 processes the walk read 20,000
// stat files and counted 20,000 descriptor tables every second, and
// took ~0.66 of a CPU (the 2-CPU machine of issue 18).
const (
	memoryStatFile  = "memory.stat"
	pidsCurrentFile = "pids.current"
)

// cgroupMem is the user memory a cgroup v1 memory.stat charges its
// processes, every page once: total_rss (anonymous pages, huge pages
// included, and swap cache) plus total_mapped_file (file pages mapped by
// its processes that were charged to it, the model's own binary and
// libraries when it brought them into the page cache).
//
// Why these two and not memory.usage_in_bytes: usage also counts page
// cache nobody maps (files the model merely read, and that the kernel
// drops first) and, on this kernel, kernel memory, which the run counts
// apart (sockstat, slab). Against PSS, the per-process figure read at a
// window's ends: anonymous pages shared copy-on-write by forked children
// are charged once to the cgroup, and PSS divides them among the sharers,
// so both sum them once (measured on this machine: a Python process in a
// fresh cgroup, total_rss 11,700 kB, Pss_Anon 11,700 kB). They differ by
// the shared libraries the cgroup did not bring in (charged to whoever
// read them first, where PSS counts the model's share: 3.4 MB of
// Pss_File for that Python process, 0 in total_mapped_file): a constant
// per process, that leaves the rise per connection alike.
func cgroupMem(b []byte) (int64, error) {
	rss, haveRSS, err := procfs.KeyedValue(b, "total_rss")
	if err != nil {
		return 0, err
	}
	mapped, haveMapped, err := procfs.KeyedValue(b, "total_mapped_file")
	if err != nil {
		return 0, err
	}
	if !haveRSS || !haveMapped {
		return 0, fmt.Errorf("no total_rss or total_mapped_file (a cgroup v1 memory.stat has both)")
	}
	return rss + mapped, nil
}

// readCgroupInt reads one integer file of a cgroup directory.
func (t *Tree) readCgroupInt(dir, name string) (int64, error) {
	path := dir + "/" + name
	b, err := procfs.ReadFile(path, t.buf)
	t.buf = b[:cap(b)]
	if err != nil {
		return 0, fmt.Errorf("probe: read %s: %w", path, err)
	}
	v, err := procfs.ParseInt(b)
	if err != nil {
		return 0, fmt.Errorf("probe: parse %s: %w", path, err)
	}
	return v, nil
}

// cpuacct reads the cgroup's user and system CPU seconds.
func (t *Tree) cpuacct() (user, sys float64, err error) {
	read := func(name string) (float64, error) {
		ns, err := t.readCgroupInt(t.cfg.CPUAcct, name)
		return float64(ns) / 1e9, err
	}
	// cpuacct.usage is exact scheduler time; the v1 user/sys split is
	// counted in ticks, so a model busy for less than a tick at a time may
	// show none at all. Use the exact total, split by the ticks' ratio.
	total, err := read("cpuacct.usage")
	if err != nil {
		return 0, 0, err
	}
	if user, err = read("cpuacct.usage_user"); err != nil {
		return 0, 0, err
	}
	if sys, err = read("cpuacct.usage_sys"); err != nil {
		return 0, 0, err
	}
	user, sys = splitCPU(total, user, sys)
	return user, sys, nil
}

// splitCPU shares cpuacct.usage (exact) by the ratio of usage_user to
// usage_sys (tick-based).
func splitCPU(total, user, sys float64) (float64, float64) {
	if user+sys == 0 {
		// No tick landed yet: a network server spends its time in system
		// calls, so count it as system time.
		return 0, total
	}
	return total * user / (user + sys), total * sys / (user + sys)
}
