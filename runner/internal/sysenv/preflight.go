package sysenv

import (
	"fmt"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Plan is what a run will ask of the machine for one model.
type Plan struct {
	Target        int // most connections offered, whole swarm
	Instances     int // model processes sharing the port with SO_REUSEPORT (0 counts as 1)
	Agents        int // swarm agent processes
	ConnsPerAgent int // most connections one agent holds
	Backlog       int // listen(2) backlog asked of each instance
	SourceAddrs   int // distinct source addresses the swarm binds (0 counts as 1)
	Destinations  int // distinct destination ip:port pairs (0 counts as 1; SO_REUSEPORT instances share one)
	// ThreadsPerConn and ProcsPerConn say the model runs one OS thread or
	// one OS process per connection, so task limits cap it.
	ThreadsPerConn bool
	ProcsPerConn   bool
	// RaisesNoFile says the model raises its soft open-files limit to the
	// hard one itself (every Go program does at start); otherwise the soft
	// limit is its ceiling.
	RaisesNoFile bool
	// MemPerConn is the model's user-space bytes per connection; 0 uses an
	// estimate from the model type (see ThreadBytes, ProcessBytes).
	MemPerConn int64
}

// Conservative ESTIMATES of what a thread or process per connection costs
// beyond its sockets; used only when Plan.MemPerConn is 0.
const (
	// ThreadBytes: a task_struct and 16 KiB kernel stack plus the touched
	// pages of the thread's user stack.
	ThreadBytes = 32 << 10
	// ProcessBytes: a task, page tables and the pages a forked child
	// dirties; a child running a language runtime costs more.
	ProcessBytes = 512 << 10
)

// Warning names one limit that will cap the run before its target.
type Warning struct {
	Limit string // results.Limit.Name of the limit
	Cap   int    // connections the run can reach under it (approximate)
	Msg   string // what caps what, at how many connections, and the command that raises it
}

func (w Warning) String() string { return w.Msg }

// Messages returns the warnings' texts, as results.Environment.Warnings
// keeps them.
func Messages(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Msg
	}
	return out
}

// Preflight names every limit in env that caps p before p.Target, with
// the command that raises it. Limits missing from env (not readable on
// this machine) are not judged.
func Preflight(env results.Environment, p Plan) []Warning {
	c := checker{env: env, p: p, lim: map[string]results.Limit{}}
	for _, l := range env.Limits {
		c.lim[l.Name] = l
	}
	c.p.Instances = max(p.Instances, 1)
	c.p.SourceAddrs = max(p.SourceAddrs, 1)
	c.p.Destinations = max(p.Destinations, 1)
	c.openFiles()
	c.swarm()
	c.tasks()
	c.backlog()
	c.ports()
	c.memory()
	return c.out
}

type checker struct {
	env results.Environment
	p   Plan
	lim map[string]results.Limit
	out []Warning
}

func (c *checker) warn(limit string, capConns int64, format string, args ...any) {
	c.out = append(c.out, Warning{Limit: limit, Cap: clampInt(capConns), Msg: fmt.Sprintf(format, args...)})
}

// ints parses the numbers leading a limit's value; ok is false when the
// limit was not recorded or is not a number ("unlimited", "max (none)").
func (c *checker) ints(name string) ([]int64, bool) {
	l, ok := c.lim[name]
	if !ok {
		return nil, false
	}
	v, err := parseInts(l.Value)
	return v, err == nil
}

func (c *checker) int(name string) (int64, bool) {
	v, ok := c.ints(name)
	if !ok {
		return 0, false
	}
	return v[0], true
}

const hardRaise = "ulimit -Hn, nofile in /etc/security/limits.conf or systemd LimitNOFILE="

func (c *checker) openFiles() {
	p := c.p
	target := int64(p.Target)
	perInstance := ceilDiv(target, int64(p.Instances))
	if nr, ok := c.int(NameNrOpen); ok && !p.ProcsPerConn && perInstance+FDReserve > nr {
		c.warn(NameNrOpen, (nr-FDReserve)*int64(p.Instances),
			"fs.nr_open %s caps every process's open-files limit, so one instance holds at most ~%s connections and %d instances ~%s, below the target %s (raise: sysctl -w fs.nr_open=N, then the hard limit; or more instances)",
			units.Grouped(nr), units.Grouped(nr-FDReserve), p.Instances, units.Grouped((nr-FDReserve)*int64(p.Instances)), units.Grouped(target))
	}
	// Root (CAP_SYS_ADMIN) may open files beyond fs.file-max.
	if fm, ok := c.int(NameFileMax); ok && !c.env.Root && 2*target > fm {
		c.warn(NameFileMax, fm/2, "fs.file-max %s caps open files machine-wide; both ends of a loopback connection count, so about %s connections, below the target %s (raise: sysctl -w fs.file-max=N)",
			units.Grouped(fm), units.Grouped(fm/2), units.Grouped(target))
	}
	if p.ProcsPerConn {
		return // each child holds its own connection; the parent holds the listener
	}
	name, which := NameNoFileSoft, "soft"
	if p.RaisesNoFile {
		name, which = NameNoFileHard, "hard"
	}
	n, ok := c.int(name)
	if !ok {
		return
	}
	per := n - FDReserve
	total := per * int64(p.Instances)
	raise := "raise: ulimit -n up to the hard limit, or the model raises its soft limit itself; the hard limit with " + hardRaise
	if p.RaisesNoFile {
		raise = "raise: " + hardRaise
	}
	switch {
	case total < target:
		c.warn(name, total, "open files: %s limit %s per process caps one model instance at ~%s connections; %d instance(s) with SO_REUSEPORT hold ~%s, below the target %s (%s; or more instances)",
			which, units.Grouped(n), units.Grouped(per), p.Instances, units.Grouped(total), units.Grouped(target), raise)
	case p.Instances > 1 && target*10 > total*9:
		c.warn(name, total, "open files: %d instances hold at most ~%s connections (%s limit %s each) and the target %s leaves under 10%% spare; SO_REUSEPORT spreads connections by hash, not evenly, so one instance may reach its limit first (raise: one more instance)",
			p.Instances, units.Grouped(total), which, units.Grouped(n), units.Grouped(target))
	}
}

func (c *checker) swarm() {
	p := c.p
	if p.Agents <= 0 || p.ConnsPerAgent <= 0 {
		return
	}
	// Agents raise their soft limit to the hard one (see swarm's agent).
	if hard, ok := c.int(NameNoFileHard); ok && int64(p.ConnsPerAgent) > hard-FDReserve {
		c.warn(NameNoFileHard, (hard-FDReserve)*int64(p.Agents),
			"open files: the hard limit %s lets one swarm agent hold ~%s connections, not the %s asked: the swarm, not the model, would fail with EMFILE (raise: more agents with fewer connections each, or %s)",
			units.Grouped(hard), units.Grouped(hard-FDReserve), units.Grouped(p.ConnsPerAgent), hardRaise)
	}
	if total := int64(p.Agents) * int64(p.ConnsPerAgent); total < int64(p.Target) {
		c.warn("swarm", total, "swarm: %d agents × %s connections offer at most %s, below the target %s (raise: more agents)",
			p.Agents, units.Grouped(p.ConnsPerAgent), units.Grouped(total), units.Grouped(p.Target))
	}
}

func (c *checker) tasks() {
	p := c.p
	if !p.ThreadsPerConn && !p.ProcsPerConn {
		return
	}
	kind := "thread-per-connection"
	if p.ProcsPerConn {
		kind = "process-per-connection"
	}
	target := int64(p.Target)
	running, _ := c.int(NameTasks)
	for _, name := range []string{NamePidMax, NameThreadsMax} {
		n, ok := c.int(name)
		if !ok || target <= n-running {
			continue
		}
		what := "every thread and process takes a pid"
		if name == NameThreadsMax {
			what = "the kernel's cap on tasks (threads and processes)"
		}
		c.warn(name, n-running, "%s %s caps thread-per-connection and process-per-connection models at about %s connections minus the %s tasks running (~%s), below the target %s: %s (raise: %s)",
			name, units.Grouped(n), units.Grouped(n), units.Grouped(running), units.Grouped(n-running), units.Grouped(target), what, c.lim[name].Raise)
	}
	if n, ok := c.int(NameNProc); ok && !c.env.Root && target > n {
		c.warn(NameNProc, n, "RLIMIT_NPROC %s caps this user's threads and processes, so it caps a %s model below %s connections, short of the target %s (raise: %s)",
			units.Grouped(n), kind, units.Grouped(n), units.Grouped(target), c.lim[NameNProc].Raise)
	}
	if n, ok := c.int(NamePidsCgroup); ok && target > n {
		c.warn(NamePidsCgroup, n, "pids cgroup limit %s caps the threads and processes of this cgroup (models and agents inherit it), so it caps a %s model below %s connections, short of the target %s (raise: %s)",
			units.Grouped(n), kind, units.Grouped(n), units.Grouped(target), c.lim[NamePidsCgroup].Raise)
	}
	if !p.ThreadsPerConn {
		return
	}
	perInstance := ceilDiv(target, int64(p.Instances))
	if n, ok := c.int(NameMaxMapCount); ok && 2*perInstance > n {
		c.warn(NameMaxMapCount, n/2*int64(p.Instances), "vm.max_map_count %s caps one process at about %s threads whose stacks are mmap'd with a guard page (C, Python, pthreads; Go's own threads use heap stacks and are not capped), below the %s per instance (raise: sysctl -w vm.max_map_count=N)",
			units.Grouped(n), units.Grouped(n/2), units.Grouped(perInstance))
	}
	if n, ok := c.int(NameOvercommit); ok && n == 2 {
		c.warn(NameOvercommit, 0, "vm.overcommit_memory 2 (strict) charges each thread's whole stack reservation (8 MiB by default for pthreads), so thread creation fails long before memory runs out (raise: sysctl -w vm.overcommit_memory=0)")
	}
}

func (c *checker) backlog() {
	p := c.p
	if p.Backlog <= 0 {
		return
	}
	eff := int64(p.Backlog)
	if n, ok := c.int(NameSomaxconn); ok && eff > n {
		c.warn(NameSomaxconn, 0, "net.core.somaxconn %s caps the listen backlog asked for (%s): a connect burst the model does not accept fast enough overflows the accept queue sooner (raise: sysctl -w net.core.somaxconn=%d)",
			units.Grouped(n), units.Grouped(eff), p.Backlog)
		eff = n
	}
	cookies, okC := c.int(NameSyncookies)
	syn, okS := c.int(NameSynBacklog)
	if okC && okS && cookies == 0 && eff > syn*3/4 {
		c.warn(NameSynBacklog, 0, "net.ipv4.tcp_syncookies is 0 and tcp_max_syn_backlog %s: with more than ~%s handshakes pending the kernel drops SYNs from new peers and clients retry after 1 s, 3 s... (raise: sysctl -w net.ipv4.tcp_syncookies=1, or net.ipv4.tcp_max_syn_backlog=N)",
			units.Grouped(syn), units.Grouped(syn*3/4))
	}
}

func (c *checker) ports() {
	p := c.p
	v, ok := c.ints(NamePortRange)
	if !ok || len(v) < 2 {
		return
	}
	ports := v[1] - v[0] + 1
	total := ports * int64(p.SourceAddrs) * int64(p.Destinations)
	if total < int64(p.Target) {
		c.warn(NamePortRange, total, "net.ipv4.ip_local_port_range %d-%d gives %s ports per source address per destination; %d source address(es) × %d destination(s) cap the swarm at %s connections, below the target %s (raise: more 127.x source addresses, or sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\")",
			v[0], v[1], units.Grouped(ports), p.SourceAddrs, p.Destinations, units.Grouped(total), units.Grouped(p.Target))
	}
}

func (c *checker) memory() {
	p := c.p
	target := int64(p.Target)
	user, how := p.MemPerConn, "as given"
	if user == 0 {
		switch {
		case p.ProcsPerConn:
			user, how = ProcessBytes, "a process each"
		case p.ThreadsPerConn:
			user, how = ThreadBytes, "a thread each"
		}
	}
	perConn := 2*int64(KernelBytesPerSocket) + user
	est := fmt.Sprintf("ESTIMATE: %s of kernel memory per socket, both ends on this machine", units.BytesTenths(KernelBytesPerSocket))
	if user > 0 {
		est += fmt.Sprintf(", plus %s of model memory (%s)", units.BytesTenths(user), how)
	}
	if avail := c.env.MemAvailable; avail > 0 && target*perConn > avail {
		c.warn(NameMemAvailable, avail/perConn, "memory: MemAvailable %s holds about %s connections at ~%s each, below the target %s (%s; steps measure the real cost) (raise: free memory or add RAM)",
			units.BytesTenths(avail), units.Grouped(avail/perConn), units.BytesTenths(perConn), units.Grouped(target), est)
	}
	if n, ok := c.int(NameMemCgroup); ok && target*perConn > n {
		c.warn(NameMemCgroup, n/perConn, "memory cgroup limit %s holds about %s connections at ~%s each, below the target %s; models and agents inherit the cgroup (%s) (raise: %s)",
			units.BytesTenths(n), units.Grouped(n/perConn), units.BytesTenths(perConn), units.Grouped(target), est, c.lim[NameMemCgroup].Raise)
	}
	if v, ok := c.ints(NameTCPMem); ok && len(v) == 3 && c.env.PageSize > 0 {
		page := int64(c.env.PageSize)
		pages := 2 * target // ESTIMATE: a page per socket while data is in flight
		switch {
		case pages > v[2]:
			c.warn(NameTCPMem, v[2]/2, "net.ipv4.tcp_mem max %s pages (%s) caps TCP buffer memory machine-wide: at an estimated page per socket, both ends here, about %s connections, below the target %s; beyond it the kernel refuses buffer memory (\"TCP: out of memory\") and drops data (raise: sysctl -w net.ipv4.tcp_mem=\"MIN PRESSURE MAX\" in pages)",
				units.Grouped(v[2]), units.BytesTenths(v[2]*page), units.Grouped(v[2]/2), units.Grouped(target))
		case pages > v[1]:
			c.warn(NameTCPMem, v[2]/2, "net.ipv4.tcp_mem pressure %s pages (%s): at an estimated page per socket, both ends here, TCP enters memory pressure above ~%s connections and trims socket buffers, which slows echoes (not a hard cap) (raise: sysctl -w net.ipv4.tcp_mem=\"MIN PRESSURE MAX\" in pages)",
				units.Grouped(v[1]), units.BytesTenths(v[1]*page), units.Grouped(v[1]/2))
		}
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
