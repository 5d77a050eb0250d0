// Package probe measures what the runner samples about once a second: a
// model's whole process tree (processes, threads, descriptors, RSS, PSS,
// CPU) and the kernel's view of memory and TCP. It prints nothing; it
// returns values of the results package.
package probe

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"c10klab/runner/internal/results"
)

// DefaultPSSBudget is how many smaps_rollup files one Sample reads.
//
// PSS is the one costly number: smaps_rollup walks the page tables of a
// process, measured here at ~45 µs for a `sleep` and ~85 µs for a Go
// process, against ~13 µs for /proc/PID/stat and ~4 µs for the fd count.
// For a fork-per-connection model with 10,000 processes, PSS of every
// process each second would cost ~0.5-0.9 s of a core on a 2-core machine
// that is being benchmarked. Above the budget a Sample reads the roots and
// a rotating slice of the other processes and estimates the rest from
// their RSS times the PSS/RSS ratio just measured on that slice (forked
// children are alike, so the ratio carries over, and it is fresh: as more
// children share the parent's pages each one's PSS falls and the ratio
// follows). At or below the budget PSS is exact.
//
// Measured (BenchmarkSampleTree, 1001 processes, this 2-core VM): 27 ms a
// sample with the budget, 65 ms reading every smaps_rollup. What remains
// is one stat read and one fd count per process (~17 µs), so a 10,000
// process tree costs ~0.2 s a sample: the caller should stretch its
// interval when Cost grows (e.g. to 10 × Cost).
const DefaultPSSBudget = 128

// TreeConfig says which processes make up a model.
type TreeConfig struct {
	// Roots are the model instances the runner started, each a process
	// group leader. Without CgroupProcs the tree is the roots, their
	// descendants, and any process still in a root's process group (a
	// double-forked orphan reparented to init stays in its group).
	Roots []int
	// CgroupProcs, when set, is the cgroup.procs file of a cgroup holding
	// the model: it lists every process, orphans included, and replaces the
	// walk from Roots.
	CgroupProcs string
	// CPUAcct, when set, is the model's cpuacct cgroup directory. CPU time
	// then comes from cpuacct.usage_user/usage_sys, which keep counting
	// processes that exited, whoever reaped them.
	CPUAcct string
	// PSSBudget caps smaps_rollup reads per sample: 0 means
	// DefaultPSSBudget, a negative value means every process every time.
	PSSBudget int
}

// Tree samples one model's process tree. It keeps a little state between
// samples (buffers, the PSS rotation), so use one Tree per model and do
// not share it between goroutines.
type Tree struct {
	cfg    TreeConfig
	roots  map[int]bool
	hz     float64
	page   int64
	fds    *fdCounter
	buf    []byte
	cursor int // PSS rotation over the non-root processes
	cost   time.Duration
}

// NewTree returns a Tree for cfg.
func NewTree(cfg TreeConfig) *Tree {
	t := &Tree{
		cfg:   cfg,
		roots: make(map[int]bool, len(cfg.Roots)),
		hz:    clockTicks(),
		page:  int64(os.Getpagesize()),
		fds:   newFDCounter(),
		buf:   make([]byte, 4096),
	}
	for _, r := range cfg.Roots {
		t.roots[r] = true
	}
	return t
}

// Cost is how long the latest Sample took, so the caller can see what
// sampling costs at the current size of the tree.
func (t *Tree) Cost() time.Duration { return t.cost }

// PIDs returns the processes that make up the model now, sorted.
func (t *Tree) PIDs() ([]int, error) {
	members, err := t.members()
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(members))
	for i, m := range members {
		pids[i] = m.pid
	}
	return pids, nil
}

// Sample measures the tree now. A tree whose processes have all exited
// gives a zero Proc and no error; processes that exit during the sample are
// left out. CPU is cumulative: without CPUAcct it is each live process's
// own time plus the time of the children it reaped (cutime/cstime), so only
// processes reaped outside the tree (orphans reaped by init, or a root
// reaped by the runner) drop out of it.
func (t *Tree) Sample() (results.Proc, error) {
	start := time.Now()
	defer func() { t.cost = time.Since(start) }()

	var p results.Proc
	members, err := t.members()
	if err != nil {
		return p, err
	}
	for _, m := range members {
		fds, err := t.fds.count(m.pid)
		if err != nil {
			if gone(err) {
				continue
			}
			return p, fmt.Errorf("probe: fds of pid %d: %w", m.pid, err)
		}
		p.Procs++
		p.Threads += m.threads
		p.FDs += fds
		p.RSS += m.rssPages * t.page
		p.CPUUser += float64(m.utime+m.cutime) / t.hz
		p.CPUSys += float64(m.stime+m.cstime) / t.hz
	}
	if p.PSS, err = t.pss(members); err != nil {
		return p, err
	}
	if t.cfg.CPUAcct != "" {
		if p.CPUUser, p.CPUSys, err = t.cpuacct(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// members lists the tree's processes with their stat lines, sorted by PID.
func (t *Tree) members() ([]procStat, error) {
	if t.cfg.CgroupProcs != "" {
		pids, buf, err := readPIDList(t.cfg.CgroupProcs, t.buf)
		t.buf = buf
		if err != nil {
			return nil, err
		}
		return t.stats(pids)
	}
	// Scan every process's stat for parent links. This kernel has no
	// /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN is off), and where
	// it exists it is per thread, so a 10,000-thread model would need
	// 10,000 reads; the scan reads each process once, and for the tree's
	// own processes those are the stat lines we need anyway.
	all, err := listPIDs()
	if err != nil {
		return nil, err
	}
	stats, err := t.stats(all)
	if err != nil {
		return nil, err
	}
	kids := make(map[int][]int, len(stats))
	byPID := make(map[int]int, len(stats))
	for i, s := range stats {
		kids[s.ppid] = append(kids[s.ppid], s.pid)
		byPID[s.pid] = i
	}
	in := make(map[int]bool)
	queue := make([]int, 0, len(t.cfg.Roots))
	for _, s := range stats {
		if t.roots[s.pid] || t.roots[s.pgrp] {
			in[s.pid] = true
			queue = append(queue, s.pid)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range kids[pid] {
			if !in[c] {
				in[c] = true
				queue = append(queue, c)
			}
		}
	}
	out := make([]procStat, 0, len(in))
	for pid := range in {
		out = append(out, stats[byPID[pid]])
	}
	slices.SortFunc(out, func(a, b procStat) int { return a.pid - b.pid })
	return out, nil
}

// stats reads /proc/PID/stat of each pid, skipping those that are gone.
func (t *Tree) stats(pids []int) ([]procStat, error) {
	out := make([]procStat, 0, len(pids))
	for _, pid := range pids {
		path := "/proc/" + strconv.Itoa(pid) + "/stat"
		b, err := readFile(path, t.buf)
		t.buf = b[:cap(b)]
		if err != nil {
			if gone(err) {
				continue
			}
			return nil, fmt.Errorf("probe: read %s: %w", path, err)
		}
		s, err := parseStat(b)
		if err != nil {
			return nil, fmt.Errorf("probe: %s: %w", path, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b procStat) int { return a.pid - b.pid })
	return out, nil
}

// pss sums PSS over members, exactly within the budget and estimated
// beyond it (see DefaultPSSBudget).
func (t *Tree) pss(members []procStat) (int64, error) {
	budget := t.cfg.PSSBudget
	if budget == 0 {
		budget = DefaultPSSBudget
	}
	read := func(pid int) (rss, pss int64, ok bool, err error) {
		rss, pss, t.buf, err = smapsRollup(pid, t.buf[:cap(t.buf)])
		t.buf = t.buf[:cap(t.buf)]
		if err != nil {
			if gone(err) {
				return 0, 0, false, nil
			}
			return 0, 0, false, fmt.Errorf("probe: %w", err)
		}
		return rss, pss, true, nil
	}
	var total int64
	if budget < 0 || len(members) <= budget {
		for _, m := range members {
			_, pss, _, err := read(m.pid)
			if err != nil {
				return 0, err
			}
			total += pss
		}
		return total, nil
	}
	var others []procStat
	for _, m := range members {
		if !t.roots[m.pid] {
			others = append(others, m)
			continue
		}
		_, pss, _, err := read(m.pid)
		if err != nil {
			return 0, err
		}
		total += pss
		budget--
	}
	budget = max(budget, 1)
	// Read a rotating slice of the others; estimate the rest.
	var sliceRSS, slicePSS int64
	n := len(others)
	t.cursor %= max(n, 1)
	measured := make(map[int]bool, budget)
	for i := 0; i < budget && i < n; i++ {
		m := others[(t.cursor+i)%n]
		rss, pss, ok, err := read(m.pid)
		if err != nil {
			return 0, err
		}
		if ok {
			measured[m.pid] = true
			sliceRSS += rss
			slicePSS += pss
			total += pss
		}
	}
	t.cursor += budget
	ratio := 1.0
	if sliceRSS > 0 {
		ratio = float64(slicePSS) / float64(sliceRSS)
	}
	for _, m := range others {
		if !measured[m.pid] {
			total += int64(float64(m.rssPages*t.page) * ratio)
		}
	}
	return total, nil
}

// cpuacct reads the cgroup's user and system CPU seconds.
func (t *Tree) cpuacct() (user, sys float64, err error) {
	read := func(name string) (float64, error) {
		path := t.cfg.CPUAcct + "/" + name
		b, err := readFile(path, t.buf)
		t.buf = b[:cap(b)]
		if err != nil {
			return 0, fmt.Errorf("probe: read %s: %w", path, err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("probe: parse %s: %w", path, err)
		}
		return float64(ns) / 1e9, nil
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
	if user+sys == 0 {
		// No tick landed yet: a network server spends its time in system
		// calls, so count it as system time.
		return 0, total, nil
	}
	return total * user / (user + sys), total * sys / (user + sys), nil
}

// RunDelay is the seconds the tree's threads have spent runnable but
// waiting for a CPU (the second field of /proc/PID/task/TID/schedstat),
// summed over every thread alive now. Over a window it tells a model that
// was slow because something else held its CPU, whose threads queued,
// from one that was idle or blocked, whose threads did not. It reads one
// file per thread, so it is for a window's ends, not every sample.
func (t *Tree) RunDelay() (float64, error) {
	members, err := t.members()
	if err != nil {
		return 0, err
	}
	var ns int64
	for _, m := range members {
		dir := "/proc/" + strconv.Itoa(m.pid) + "/task/"
		f, err := os.Open(dir)
		if err != nil {
			continue // gone
		}
		tids, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			continue
		}
		for _, tid := range tids {
			b, err := readFile(dir+tid+"/schedstat", t.buf)
			t.buf = b[:cap(b)]
			if err != nil {
				continue // the thread ended
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				return 0, fmt.Errorf("probe: %s%s/schedstat: %q", dir, tid, b)
			}
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("probe: %s%s/schedstat: %w", dir, tid, err)
			}
			ns += v
		}
	}
	return float64(ns) / 1e9, nil
}
