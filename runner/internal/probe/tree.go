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
	"time"

	"c10klab/runner/internal/procfs"
	"c10klab/runner/internal/results"
)

// DefaultPSSBudget is how many smaps_rollup files one walk reads.
//
// PSS is the one costly number: smaps_rollup walks the page tables of a
// process, measured here at ~45 µs for a `sleep` and ~85 µs for a Go
// process, against ~13 µs for /proc/PID/stat and ~4 µs for the fd count.
// For a fork-per-connection model with 10,000 processes, PSS of every
// process each second would cost ~0.5-0.9 s of a core on a 2-core machine
// that is being benchmarked. Above the budget a walk reads the roots and
// a rotating slice of the other processes and estimates the rest from
// their RSS times the PSS/RSS ratio just measured on that slice (forked
// children are alike, so the ratio carries over, and it is fresh: as more
// children share the parent's pages each one's PSS falls and the ratio
// follows). At or below the budget PSS is exact.
//
// Measured (BenchmarkSampleTree, 1001 processes, this 2-core VM): 27 ms a
// sample with the budget, 65 ms reading every smaps_rollup.
const DefaultPSSBudget = 128

// minOthers is how many non-root processes a pass reads at least, however
// short its budget, so that its estimate of the rest stands on more than
// one of them (on a busy machine the runner may lose its CPU for longer
// than the budget between two reads: a pass then read the two roots of a
// forked model and counted its 20,000 children at the roots' PSS).
const minOthers = 16

// DefaultBudget bounds in time each pass of per-process reads (a walk's
// descriptor counts and smaps_rollup, Detail, MarkDelay, DelaySince): past
// it the pass stops and estimates the processes it did not read from
// those it did (the run delay: sums those it did, a lower bound;
// results.Proc.Unread, results.Step.ModelWaitUnread say how many). 10 ms reads ~200 processes' descriptors and PSS, or ~400
// processes' run delay: enough to estimate a fork-per-connection model's
// alike children, and the three passes of a step (Detail at the window's
// end, MarkDelay and DelaySince) then take about 0.01 of a CPU over a 4 s
// window whatever the model's size (measured with 10,000 sleeping
// processes: 16, 14 and 9 ms of CPU, their process list included).
const DefaultBudget = 10 * time.Millisecond

// TreeConfig says which processes make up a model.
type TreeConfig struct {
	// Roots are the model instances the runner started, each a process
	// group leader. Without CgroupProcs the tree is the roots, their
	// descendants, and any process still in a root's process group (a
	// double-forked orphan reparented to init stays in its group).
	Roots []int
	// RootsOnly: the roots are the whole tree, they start no process of
	// their own (the swarm's agents). The tree is then read without
	// scanning every process on the machine for descendants.
	RootsOnly bool
	// CgroupProcs, when set, is the cgroup.procs file of a cgroup holding
	// the model: it lists every process, orphans included, and replaces the
	// walk from Roots.
	CgroupProcs string
	// CPUAcct, when set, is the model's cpuacct cgroup directory. CPU time
	// then comes from cpuacct.usage_user/usage_sys, which keep counting
	// processes that exited, whoever reaped them.
	CPUAcct string
	// Memory and Pids, when set with CgroupProcs and CPUAcct, are the
	// model's memory and pids cgroup directories: Sample then reads only
	// the cgroups' files (processes from cgroup.procs, tasks from
	// pids.current, memory from memory.stat, CPU from cpuacct), a few
	// small reads whatever the model's size, and the per-process figures
	// are Detail's.
	Memory, Pids string
	// PSSBudget caps smaps_rollup reads per walk: 0 means
	// DefaultPSSBudget, a negative value means every process every time
	// (within Budget).
	PSSBudget int
	// Budget bounds each pass of per-process reads in time; 0 means
	// DefaultBudget, a negative value no bound.
	Budget time.Duration
}

// Tree samples one model's process tree. It keeps a little state between
// samples (buffers, the rotation over processes), so use one Tree per
// model and do not share it between goroutines.
type Tree struct {
	cfg    TreeConfig
	roots  map[int]bool
	hz     float64
	page   int64
	fds    *fdCounter
	buf    []byte
	cursor int // rotation over the non-root processes, so that passes cut short by their budget read different ones
	// procReads counts the per-process files read (stat, the descriptor
	// table, smaps_rollup, schedstat): the cost that grows with the model.
	procReads int
	// The cgroup's process list as last read, with the task count
	// (pids.current) it was read at and when (see cgroupPIDs).
	listed    []int
	listTasks int64
	listAt    time.Time
}

// Reading cgroup.procs costs the kernel ~1.1 µs a process (measured: 20-24
// ms of CPU for 20,000 processes, against 0.1 ms for pids.current and
// memory.stat together), so a large model's list is read again only when
// its task count moved (cgroupPIDs).
const (
	// listAlways: a model of fewer processes has its list read every time.
	listAlways = 1000
	// listMaxAge: a list is read again after this long even when the
	// model's tasks did not change.
	listMaxAge = 10 * time.Second
)

// cgroupPIDs returns the cgroup's processes, sorted, and its tasks. A list
// of listAlways processes or more stands while pids.current reads the same
// as when the list was read, for up to listMaxAge: a fork-per-connection
// model of 20,000 processes in a steady window then costs no cgroup.procs
// read at all, each second or at the window's ends. (A process exiting
// while another starts would leave the count unchanged and the list stale
// until it moves: a PID gone is skipped where it is read, one new is
// missed, for at most listMaxAge.)
func (t *Tree) cgroupPIDs() ([]int, int64, error) {
	tasks, err := t.readCgroupInt(t.cfg.Pids, pidsCurrentFile)
	if err != nil {
		return nil, 0, err
	}
	if t.listed != nil && tasks == t.listTasks && len(t.listed) >= listAlways && time.Since(t.listAt) < listMaxAge {
		return t.listed, tasks, nil
	}
	pids, buf, err := readPIDList(t.cfg.CgroupProcs, t.buf)
	t.buf = buf[:cap(buf)]
	if err != nil {
		return nil, 0, err
	}
	slices.Sort(pids)
	t.listed, t.listTasks, t.listAt = pids, tasks, time.Now()
	return pids, tasks, nil
}

// ProcReads is how many per-process /proc files the Tree has read so far:
// a sample through the cgroups reads none.
func (t *Tree) ProcReads() int { return t.procReads }

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

// cgroupSampled reports whether Sample reads only the model's cgroups.
func (t *Tree) cgroupSampled() bool {
	c := t.cfg
	return c.CgroupProcs != "" && c.CPUAcct != "" && c.Memory != "" && c.Pids != ""
}

// PIDs returns the processes that make up the model now, sorted (through
// the cgroups, as cgroupPIDs keeps them).
func (t *Tree) PIDs() ([]int, error) {
	if t.cgroupSampled() {
		pids, _, err := t.cgroupPIDs()
		return slices.Clone(pids), err
	}
	if t.cfg.CgroupProcs != "" {
		pids, buf, err := readPIDList(t.cfg.CgroupProcs, t.buf)
		t.buf = buf[:cap(buf)]
		slices.Sort(pids)
		return pids, err
	}
	members, err := t.members()
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(members))
	for i, m := range members {
		pids[i] = m.PID
	}
	return pids, nil
}

// Sample measures the tree now, as the runner does each second. A tree
// whose processes have all exited gives a zero Proc and no error;
// processes that exit during the sample are left out.
//
// Through the cgroups (TreeConfig.Memory and Pids set) it reads a few
// small files and no per-process one: FDs, RSS and PSS are left unread
// (NoDetail), for Detail. Processes are counted from cgroup.procs, read
// again only when the model's tasks moved (cgroupPIDs). Otherwise it walks the processes: every stat
// (threads, RSS, CPU), then descriptors and PSS within the time budget.
// CPU is cumulative: with CPUAcct it is the cgroup's; without, it is each
// live process's own time plus the time of the children it reaped
// (cutime/cstime), so only processes reaped outside the tree (orphans
// reaped by init, or a root reaped by the runner) drop out of it.
func (t *Tree) Sample() (results.Proc, error) {
	if t.cgroupSampled() {
		p, _, err := t.fromCgroups()
		return p, err
	}
	return t.walk()
}

// Detail measures the tree with its per-process figures, FDs, RSS and
// PSS, read within the time budget (Unread counts what it left to the
// estimate): for a window's ends and the idle model, not every second.
// Without the cgroups it is Sample, which reads them anyway.
func (t *Tree) Detail() (results.Proc, error) {
	if !t.cgroupSampled() {
		return t.walk()
	}
	p, pids, err := t.fromCgroups()
	if err != nil || p.Procs == 0 {
		return p, err
	}
	procs := make([]procfs.Stat, len(pids))
	for i, pid := range pids {
		procs[i] = procfs.Stat{PID: pid, RSSPages: -1}
	}
	// Every smaps_rollup the time budget allows: this is where PSS comes
	// from under the cgroups.
	f, err := t.perProcess(procs, -1)
	if err != nil {
		return p, err
	}
	p.NoDetail = false
	p.FDs, p.RSS, p.PSS, p.Unread = f.fds, f.rss, f.pss, f.unread
	return p, nil
}

// fromCgroups reads the model's cgroups: processes, tasks, memory, CPU,
// and returns the processes' list too (the Tree's own: not to be changed).
func (t *Tree) fromCgroups() (results.Proc, []int, error) {
	p := results.Proc{NoDetail: true}
	pids, tasks, err := t.cgroupPIDs()
	if err != nil {
		return p, nil, err
	}
	p.Procs, p.Threads = len(pids), int(tasks)
	if p.Procs == 0 {
		// Gone: a zero Proc, as from the walk, not the last tasks'
		// leftovers (zombies still charged to pids.current).
		return results.Proc{}, nil, nil
	}
	path := t.cfg.Memory + "/" + memoryStatFile
	b, err := procfs.ReadFile(path, t.buf)
	t.buf = b[:cap(b)]
	if err != nil {
		return p, nil, fmt.Errorf("probe: read %s: %w", path, err)
	}
	if p.Mem, err = cgroupMem(b); err != nil {
		return p, nil, fmt.Errorf("probe: %s: %w", path, err)
	}
	if p.CPUUser, p.CPUSys, err = t.cpuacct(); err != nil {
		return p, nil, err
	}
	return p, pids, nil
}

// walk measures the tree from /proc: membership and the stat figures of
// every process, then descriptors and PSS within the budget.
func (t *Tree) walk() (results.Proc, error) {
	var p results.Proc
	members, err := t.members()
	if err != nil {
		return p, err
	}
	for _, m := range members {
		p.Procs++
		p.Threads += m.Threads
		p.RSS += m.RSSPages * t.page
		p.CPUUser += float64(m.UTime+m.CUTime) / t.hz
		p.CPUSys += float64(m.STime+m.CSTime) / t.hz
	}
	f, err := t.perProcess(members, t.cfg.PSSBudget)
	if err != nil {
		return p, err
	}
	if f.gone == len(members) {
		return results.Proc{}, nil
	}
	p.FDs, p.PSS, p.Unread = f.fds, f.pss, f.unread
	if t.cfg.CPUAcct != "" {
		if p.CPUUser, p.CPUSys, err = t.cpuacct(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// members lists the tree's processes with their stat lines, sorted by PID.
func (t *Tree) members() ([]procfs.Stat, error) {
	if t.cfg.CgroupProcs != "" {
		pids, buf, err := readPIDList(t.cfg.CgroupProcs, t.buf)
		t.buf = buf
		if err != nil {
			return nil, err
		}
		return t.stats(pids)
	}
	if t.cfg.RootsOnly {
		return t.stats(t.cfg.Roots)
	}
	// Scan every process's stat for parent links. This kernel has no
	// /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN is off), and where
	// it exists it is per thread, so a 10,000-thread model would need
	// 10,000 reads; the scan reads each process once, and for the tree's
	// own processes those are the stat lines we need anyway.
	all, err := procfs.ListPIDs()
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	stats, err := t.stats(all)
	if err != nil {
		return nil, err
	}
	kids := make(map[int][]int, len(stats))
	byPID := make(map[int]int, len(stats))
	for i, s := range stats {
		kids[s.PPID] = append(kids[s.PPID], s.PID)
		byPID[s.PID] = i
	}
	in := make(map[int]bool)
	queue := make([]int, 0, len(t.cfg.Roots))
	for _, s := range stats {
		if t.roots[s.PID] || t.roots[s.PGrp] {
			in[s.PID] = true
			queue = append(queue, s.PID)
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
	out := make([]procfs.Stat, 0, len(in))
	for pid := range in {
		out = append(out, stats[byPID[pid]])
	}
	slices.SortFunc(out, func(a, b procfs.Stat) int { return a.PID - b.PID })
	return out, nil
}

// stats reads /proc/PID/stat of each pid, skipping those that are gone.
func (t *Tree) stats(pids []int) ([]procfs.Stat, error) {
	out := make([]procfs.Stat, 0, len(pids))
	for _, pid := range pids {
		path := procfs.StatPath(pid)
		t.procReads++
		b, err := procfs.ReadFile(path, t.buf)
		t.buf = b[:cap(b)]
		if err != nil {
			if procfs.Gone(err) {
				continue
			}
			return nil, fmt.Errorf("probe: read %s: %w", path, err)
		}
		s, err := procfs.ParseStat(b)
		if err != nil {
			return nil, fmt.Errorf("probe: %s: %w", path, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b procfs.Stat) int { return a.PID - b.PID })
	return out, nil
}

// figures are what a pass of per-process reads found, estimates included.
type figures struct {
	fds      int
	rss, pss int64 // rss only when the procs came without their stat (rssPages < 0)
	unread   int   // processes the budget left unread, estimated
	gone     int   // processes that exited before they were read
}

// stopper starts a pass of per-process reads: the function it returns
// says whether to leave the next process unread, a root or not, given how
// many of its kind the pass has read. Past the time budget a pass stops,
// once it has read a root and minOthers others (or all there are).
func (t *Tree) stopper() func(root bool, read int) bool {
	b := t.cfg.Budget
	switch {
	case b < 0:
		return func(bool, int) bool { return false }
	case b == 0:
		b = DefaultBudget
	}
	deadline := time.Now().Add(b)
	return func(root bool, read int) bool {
		if root && read < 1 || !root && read < minOthers {
			return false
		}
		return time.Now().After(deadline)
	}
}

// order puts the roots first, then the others from the rotating cursor,
// which it advances by n (the others a pass read), so that successive
// passes cut short by their budget read different processes.
func (t *Tree) order(procs []procfs.Stat) (ordered []procfs.Stat, advance func(n int)) {
	ordered = make([]procfs.Stat, 0, len(procs))
	var others []procfs.Stat
	for _, p := range procs {
		if t.roots[p.PID] {
			ordered = append(ordered, p)
		} else {
			others = append(others, p)
		}
	}
	if len(others) > 0 {
		c := t.cursor % len(others)
		ordered = append(ordered, others[c:]...)
		ordered = append(ordered, others[:c]...)
	}
	return ordered, func(n int) { t.cursor += n }
}

// perProcess counts descriptors and reads smaps_rollup (within PSSBudget)
// for procs, the roots first, until the time budget runs out; it always
// reads two processes at least, so an estimate has something to start
// from. pssBudget caps the smaps_rollup reads as PSSBudget does. A process left unread, by the budget, counts at the mean of the
// processes of its kind (root or not) that were read; a process read
// without its smaps_rollup, past PSSBudget, at its RSS (from its stat)
// times the PSS/RSS ratio of the others read, or at their mean PSS when
// its stat was not read (rssPages < 0, the cgroup's Detail, which then
// returns RSS too).
func (t *Tree) perProcess(procs []procfs.Stat, pssBudget int) (figures, error) {
	var f figures
	switch {
	case pssBudget == 0:
		pssBudget = DefaultPSSBudget
	case pssBudget < 0:
		pssBudget = len(procs) // every smaps_rollup the time budget allows
	}
	// Per kind (0: roots, 1: others), what was read, for the estimates.
	type tally struct {
		n, nSmaps, fds int
		smapsRSS, pss  int64 // over the processes whose smaps_rollup was read
	}
	var kinds [2]tally
	var estimateRSS, estimatePSS []procfs.Stat // read, but not their smaps_rollup
	unread := map[int]int{}                    // kind → processes unread
	ordered, advance := t.order(procs)
	stop := t.stopper()
	readOthers := 0
	for _, p := range ordered {
		kind := 1
		if t.roots[p.PID] {
			kind = 0
		}
		if stop(kind == 0, kinds[kind].n) {
			unread[kind]++
			continue
		}
		t.procReads++
		fds, err := t.fds.count(p.PID)
		if err != nil {
			if procfs.Gone(err) {
				f.gone++
				continue
			}
			return f, fmt.Errorf("probe: fds of pid %d: %w", p.PID, err)
		}
		if kind == 1 {
			readOthers++
		}
		k := &kinds[kind]
		k.n++
		k.fds += fds
		f.fds += fds
		if k.nSmaps+kinds[1-kind].nSmaps >= pssBudget {
			if p.RSSPages >= 0 {
				estimatePSS = append(estimatePSS, p)
			} else {
				estimateRSS = append(estimateRSS, p)
			}
			continue
		}
		t.procReads++
		rss, pss, buf, err := smapsRollup(p.PID, t.buf[:cap(t.buf)])
		t.buf = buf[:cap(buf)]
		if err != nil {
			if procfs.Gone(err) {
				continue // exited between its two reads: its descriptors are counted, its memory is freed
			}
			return f, fmt.Errorf("probe: %w", err)
		}
		k.nSmaps++
		k.smapsRSS += rss
		k.pss += pss
		f.pss += pss
		if p.RSSPages < 0 {
			f.rss += rss
		}
	}
	advance(readOthers)
	// Estimates from the kind's own figures, else the other kind's.
	pick := func(kind int, ok func(tally) bool) tally {
		if ok(kinds[kind]) {
			return kinds[kind]
		}
		return kinds[1-kind]
	}
	for kind, n := range unread {
		f.unread += n
		k := pick(kind, func(k tally) bool { return k.n > 0 })
		if k.n > 0 {
			f.fds += n * k.fds / k.n
		}
		if k = pick(kind, func(k tally) bool { return k.nSmaps > 0 }); k.nSmaps > 0 {
			f.pss += int64(n) * k.pss / int64(k.nSmaps)
			if procs[0].RSSPages < 0 {
				f.rss += int64(n) * k.smapsRSS / int64(k.nSmaps)
			}
		}
	}
	// Read past PSSBudget: the others' PSS/RSS ratio (forked children are
	// alike, so the ratio carries over, and it is fresh).
	o := pick(1, func(k tally) bool { return k.smapsRSS > 0 })
	ratio := 1.0
	if o.smapsRSS > 0 {
		ratio = float64(o.pss) / float64(o.smapsRSS)
	}
	for _, p := range estimatePSS {
		f.pss += int64(float64(p.RSSPages*t.page) * ratio)
	}
	if o.nSmaps > 0 {
		f.pss += int64(len(estimateRSS)) * o.pss / int64(o.nSmaps)
		f.rss += int64(len(estimateRSS)) * o.smapsRSS / int64(o.nSmaps)
	}
	return f, nil
}

// DelayMark is the run delay of the model's processes at a window's
// start, per process, for DelaySince at its end.
type DelayMark struct {
	ns     map[int]int64 // per process read: its threads' run delay, summed
	unread int           // processes the budget left unread
	// Start is when the mark began reading: the delay DelaySince sums
	// accrued from then to when it read, which may be longer than the
	// window the mark opens.
	Start time.Time
}

// MarkDelay reads the run delay of the tree's processes (the second field
// of /proc/PID/task/TID/schedstat: nanoseconds runnable but waiting for a
// CPU, summed over each process's threads), within the time budget. Over
// a window, DelaySince then tells a model that was slow because something
// else held its CPU, whose threads queued, from one that was idle or
// blocked, whose threads did not. It reads one file per thread, so it is
// for a window's ends, not every sample.
func (t *Tree) MarkDelay() (DelayMark, error) {
	pids, err := t.PIDs()
	if err != nil {
		return DelayMark{}, err
	}
	procs := make([]procfs.Stat, len(pids))
	for i, pid := range pids {
		procs[i] = procfs.Stat{PID: pid}
	}
	ordered, advance := t.order(procs)
	m := DelayMark{ns: make(map[int]int64, len(pids)), Start: time.Now()}
	stop := t.stopper()
	others, roots := 0, 0
	for _, p := range ordered {
		root, read := t.roots[p.PID], others
		if root {
			read = roots
		}
		if stop(root, read) {
			m.unread++
			continue
		}
		ns, ok, err := t.runDelay(p.PID)
		if err != nil {
			return DelayMark{}, err
		}
		if ok {
			m.ns[p.PID] = ns
			if root {
				roots++
			} else {
				others++
			}
		}
	}
	advance(others)
	return m, nil
}

// DelaySince returns the seconds the tree's threads waited for a CPU since
// the mark, and how many of the tree's processes that leaves unread (then
// the seconds are those of the processes read: a lower bound. Scaled up to
// all of them, the few a budget lets it read under a collapse, the
// busiest first, put forked's wait at 334,296 thread-seconds in a 2 s
// window with 16,052 processes, run 20261203-170559).
// It reads the processes the mark read, within the time budget, and when
// the mark read every process, the processes started since (their whole
// delay falls after the mark). Threads that ended take their delay with
// them, so the sum can only understate the wait.
func (t *Tree) DelaySince(m DelayMark) (float64, int, error) {
	pids, err := t.PIDs()
	if err != nil {
		return 0, 0, err
	}
	var ns int64
	read := 0
	stop := t.stopper()
	for _, pid := range pids {
		before, marked := m.ns[pid]
		if !marked && m.unread > 0 {
			continue // alive at the mark but not read then: its delay since is unknown
		}
		if stop(false, read) {
			break
		}
		now, ok, err := t.runDelay(pid)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			continue
		}
		read++
		ns += max(0, now-before)
	}
	return float64(ns) / 1e9, len(pids) - read, nil
}

// runDelay sums the run delay of pid's threads in nanoseconds; ok is
// false when the process is gone.
func (t *Tree) runDelay(pid int) (ns int64, ok bool, err error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	f, err := os.Open(dir)
	if err != nil {
		return 0, false, nil // gone
	}
	tids, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, false, nil
	}
	t.procReads++
	for _, tid := range tids {
		t.procReads++
		b, err := procfs.ReadFile(dir+tid+"/schedstat", t.buf)
		t.buf = b[:cap(b)]
		if err != nil {
			continue // the thread ended
		}
		s, err := procfs.ParseSchedstat(b)
		if err != nil {
			return 0, false, fmt.Errorf("probe: %s%s/schedstat: %w", dir, tid, err)
		}
		ns += s.DelayNs
	}
	return ns, true, nil
}
