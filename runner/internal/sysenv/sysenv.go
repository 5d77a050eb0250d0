// Package sysenv records the machine a run measures on and every limit that
// can cap its result (open files, threads and processes, listen backlog,
// ephemeral ports, socket and machine memory), and checks a planned run
// against them before it starts (Preflight), so that a number capped by the
// system is never mistaken for a property of a server model.
//
// Read gathers the data, Preflight judges a plan against it, Format prints
// both; the three are separate so a saved environment (run.json) can be
// judged and printed again.
package sysenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/pin"
	"c10klab/runner/internal/procfs"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Limit names, as they appear in results.Limit.Name. Preflight finds limits
// by these names, so a saved environment can be checked again.
const (
	NameCPUs         = "CPUs (affinity mask)"
	NameNoFileSoft   = results.LimitNoFileSoft
	NameNoFileHard   = "open files (hard)"
	NameFileMax      = "fs.file-max"
	NameNrOpen       = "fs.nr_open"
	NameNProc        = results.LimitNProc
	NameThreadsMax   = results.LimitThreadsMax
	NamePidMax       = results.LimitPidMax
	NameTasks        = "tasks running (threads of all processes)"
	NamePidsCgroup   = results.LimitPidsCgroup
	NameMaxMapCount  = "vm.max_map_count"
	NameOvercommit   = "vm.overcommit_memory"
	NameSomaxconn    = "net.core.somaxconn"
	NameSynBacklog   = "net.ipv4.tcp_max_syn_backlog"
	NameSyncookies   = "net.ipv4.tcp_syncookies"
	NamePortRange    = "net.ipv4.ip_local_port_range"
	NameTCPMem       = "net.ipv4.tcp_mem"
	NameTCPRmem      = "net.ipv4.tcp_rmem"
	NameTCPWmem      = "net.ipv4.tcp_wmem"
	NameMaxOrphans   = "net.ipv4.tcp_max_orphans"
	NameMaxTWBuckets = "net.ipv4.tcp_max_tw_buckets"
	NameTWReuse      = "net.ipv4.tcp_tw_reuse"
	NameMemCgroup    = "memory cgroup limit"
	NameMemAvailable = "memory (MemAvailable)"
	NameScheduler    = "kernel tick and preemption"
)

// Scopes of a limit: what it counts over.
const (
	ScopeProcess = "process" // each process separately
	ScopeUser    = "user"    // all processes of one user
	ScopeCgroup  = "cgroup"  // this process's cgroup, inherited by what it starts
	ScopeSystem  = "system"  // the whole machine
)

// FDReserve is the descriptors a server process holds besides its
// connections: stdin/out/err, the listener, the poller and the runtime's
// own. A process with an open-files limit of N holds about N-FDReserve
// connections.
const FDReserve = 10

// KernelBytesPerSocket is a conservative ESTIMATE of the kernel memory one
// idle TCP socket costs (tcp_sock, file, inode and dentry, epoll item, a
// page of buffer while data is in flight). Both ends of a loopback
// connection live on this machine, so a connection costs twice this. Steps
// measure the real figure; this only sizes warnings before a run.
const KernelBytesPerSocket = 4 << 10

// host is what Read learns from system calls rather than files.
type host struct {
	kernel   string
	numCPU   int
	affinity []int // CPUs in this process's affinity mask
	pageSize int
	root     bool
	nofile   unix.Rlimit
	nproc    unix.Rlimit
}

// Read records this machine and this process's limits. Models and swarm
// agents started by this process inherit its rlimits and cgroups, so they
// are the limits a run meets. Read returns everything it could read; the
// error lists what it could not, so a partial record is still usable.
func Read() (results.Environment, error) {
	h, err := readHost()
	if err != nil {
		return results.Environment{}, err
	}
	return build(machineFS{os.DirFS("/"), netns.MachinePath()}, h)
}

func readHost() (host, error) {
	h := host{numCPU: runtime.NumCPU(), pageSize: os.Getpagesize(), root: os.Geteuid() == 0}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return h, fmt.Errorf("uname: %w", err)
	}
	h.kernel = unix.ByteSliceToString(u.Release[:])
	var err error
	if h.affinity, err = pin.Allowed(); err != nil {
		return h, err
	}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &h.nofile); err != nil {
		return h, fmt.Errorf("getrlimit RLIMIT_NOFILE: %w", err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &h.nproc); err != nil {
		return h, fmt.Errorf("getrlimit RLIMIT_NPROC: %w", err)
	}
	return h, nil
}

// builder collects limits and the errors met while reading them.
type builder struct {
	fsys   fs.FS
	env    results.Environment
	errs   []error
	limits []results.Limit
}

func (b *builder) add(l results.Limit) { b.limits = append(b.limits, l) }

func (b *builder) file(name string) (string, bool) {
	data, err := fs.ReadFile(b.fsys, name)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("read /%s: %w", name, err))
		return "", false
	}
	return string(data), true
}

// sysctl reads /proc/sys/<name with dots as slashes>, whitespace
// normalised ("32768\t60999" becomes "32768 60999").
func (b *builder) sysctl(name string) ([]int64, string, bool) {
	raw, ok := b.file("proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if !ok {
		return nil, "", false
	}
	v := strings.Join(strings.Fields(raw), " ")
	n, err := parseInts(v)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("sysctl %s: %w", name, err))
		return nil, v, false
	}
	return n, v, true
}

// build assembles the record from fsys (the root filesystem, or a fake in
// tests) and what system calls said.
func build(fsys fs.FS, h host) (results.Environment, error) {
	b := &builder{fsys: fsys}
	b.env = results.Environment{Kernel: h.kernel, CPUs: h.numCPU, PageSize: h.pageSize, Root: h.root}
	page := int64(h.pageSize)
	if mi, ok := b.file("proc/meminfo"); ok {
		if m, err := procfs.ParseMeminfo([]byte(mi)); err != nil {
			b.errs = append(b.errs, err)
		} else {
			b.env.MemTotal, b.env.MemAvailable = m["MemTotal"], m["MemAvailable"]
		}
	}

	cpus := fmt.Sprintf("%d (cpus %s", len(h.affinity), cpuRanges(h.affinity))
	if s, ok := b.file("sys/devices/system/cpu/online"); ok {
		if n, err := parseCPUList(s); err == nil {
			cpus += fmt.Sprintf(" of %d online", n)
		}
	}
	cpus += ")"
	b.add(results.Limit{Name: NameCPUs, Value: cpus, Scope: ScopeProcess,
		Raise: "taskset -a -p -c LIST PID, or the cpuset cgroup"})

	b.addScheduler(h.kernel)
	b.addFiles(h)
	b.addTasks(h)
	b.addNet(page)
	b.addMemory(h, page)

	b.env.Limits = b.limits
	return b.env, errors.Join(b.errs...)
}

func (b *builder) addFiles(h host) {
	soft := rlimitValue(h.nofile.Cur)
	if h.nofile.Max != unix.RLIM_INFINITY && h.nofile.Cur == h.nofile.Max-1 {
		// The Go runtime sets soft = hard-1 when it raises a lower soft
		// limit at start, and gives programs it starts the original back
		// (unless the runner itself calls setrlimit).
		soft += " (raised by the Go runtime; programs started get the original soft limit back)"
	}
	b.add(results.Limit{Name: NameNoFileSoft, Value: soft, Conns: rlimitConns(h.nofile.Cur), Scope: ScopeProcess,
		Raise: "ulimit -n N, up to the hard limit; a program may raise its own soft limit up to the hard one with setrlimit (Go programs do so at start, the swarm agents too)"})
	b.add(results.Limit{Name: NameNoFileHard, Value: rlimitValue(h.nofile.Max), Conns: rlimitConns(h.nofile.Max), Scope: ScopeProcess,
		Raise: "as root: ulimit -Hn N, nofile in /etc/security/limits.conf, or LimitNOFILE=N in the systemd unit (at most fs.nr_open)"})
	if v, s, ok := b.sysctl(NameFileMax); ok {
		b.add(results.Limit{Name: NameFileMax, Value: s, Conns: clampInt(v[0] / 2), Scope: ScopeSystem,
			Raise: "sysctl -w fs.file-max=N (not enforced for root)"})
	}
	if v, s, ok := b.sysctl(NameNrOpen); ok {
		b.add(results.Limit{Name: NameNrOpen, Value: s, Conns: clampInt(v[0] - FDReserve), Scope: ScopeProcess,
			Raise: "sysctl -w fs.nr_open=N (the ceiling of every process's hard open-files limit)"})
	}
}

func (b *builder) addTasks(h host) {
	b.add(results.Limit{Name: NameNProc, Value: rlimitValue(h.nproc.Cur), Scope: ScopeUser,
		Raise: "ulimit -u N, nproc in /etc/security/limits.conf, or LimitNPROC=N (not enforced for root)"})
	if _, s, ok := b.sysctl(NameThreadsMax); ok {
		b.add(results.Limit{Name: NameThreadsMax, Value: s, Scope: ScopeSystem, Raise: "sysctl -w kernel.threads-max=N"})
	}
	if _, s, ok := b.sysctl(NamePidMax); ok {
		b.add(results.Limit{Name: NamePidMax, Value: s, Scope: ScopeSystem, Raise: "sysctl -w kernel.pid_max=4194304"})
	}
	if la, ok := b.file("proc/loadavg"); ok {
		if l, err := procfs.ParseLoadavg([]byte(la)); err != nil {
			b.errs = append(b.errs, err)
		} else {
			b.add(results.Limit{Name: NameTasks, Value: strconv.FormatInt(l.Tasks, 10), Scope: ScopeSystem})
		}
	}
	if cl, ok := b.cgroup("pids"); ok {
		l := results.Limit{Name: NamePidsCgroup, Value: "max (none)", Scope: ScopeCgroup}
		if cl.limited {
			l.Value = strconv.FormatInt(cl.limit, 10)
			l.Raise = "echo N > " + cl.file
		}
		b.add(l)
	}
	if _, s, ok := b.sysctl(NameMaxMapCount); ok {
		b.add(results.Limit{Name: NameMaxMapCount, Value: s, Scope: ScopeProcess, Raise: "sysctl -w vm.max_map_count=N"})
	}
	if _, s, ok := b.sysctl(NameOvercommit); ok {
		b.add(results.Limit{Name: NameOvercommit, Value: s, Scope: ScopeSystem, Raise: "sysctl -w vm.overcommit_memory=0"})
	}
}

func (b *builder) addNet(page int64) {
	if _, s, ok := b.sysctl(NameSomaxconn); ok {
		b.add(results.Limit{Name: NameSomaxconn, Value: s, Scope: ScopeSystem, Raise: "sysctl -w net.core.somaxconn=N"})
	}
	if _, s, ok := b.sysctl(NameSynBacklog); ok {
		b.add(results.Limit{Name: NameSynBacklog, Value: s, Scope: ScopeSystem, Raise: "sysctl -w net.ipv4.tcp_max_syn_backlog=N"})
	}
	if _, s, ok := b.sysctl(NameSyncookies); ok {
		b.add(results.Limit{Name: NameSyncookies, Value: s, Scope: ScopeSystem, Raise: "sysctl -w net.ipv4.tcp_syncookies=1"})
	}
	if v, s, ok := b.sysctl(NamePortRange); ok && len(v) == 2 {
		// Conns counts per source address and destination: the swarm
		// multiplies it by binding many 127.x addresses.
		b.add(results.Limit{Name: NamePortRange, Value: fmt.Sprintf("%s (%s ports per source address per destination)", s, units.Grouped(v[1]-v[0]+1)),
			Conns: clampInt(v[1] - v[0] + 1), Scope: ScopeSystem,
			Raise: `bind to more 127.x source addresses (the swarm does), or sysctl -w net.ipv4.ip_local_port_range="1024 65535"`})
	}
	if v, s, ok := b.sysctl(NameTCPMem); ok && len(v) == 3 {
		// One page per socket while data is in flight, both ends here:
		// an estimate, see KernelBytesPerSocket.
		b.add(results.Limit{Name: NameTCPMem, Value: fmt.Sprintf("%s pages = %s %s %s (min pressure max)", s,
			units.BytesTenths(v[0]*page), units.BytesTenths(v[1]*page), units.BytesTenths(v[2]*page)),
			Conns: clampInt(v[2] / 2), Scope: ScopeSystem, Raise: `sysctl -w net.ipv4.tcp_mem="MIN PRESSURE MAX" (pages)`})
	}
	for _, name := range []string{NameTCPRmem, NameTCPWmem} {
		if _, s, ok := b.sysctl(name); ok {
			b.add(results.Limit{Name: name, Value: s + " bytes (min default max per socket)", Scope: ScopeSystem,
				Raise: fmt.Sprintf(`sysctl -w %s="MIN DEFAULT MAX" (lower values use less memory per connection)`, name)})
		}
	}
	for _, name := range []string{NameMaxOrphans, NameMaxTWBuckets, NameTWReuse} {
		if _, s, ok := b.sysctl(name); ok {
			b.add(results.Limit{Name: name, Value: s, Scope: ScopeSystem, Raise: "sysctl -w " + name + "=N"})
		}
	}
}

func (b *builder) addMemory(h host, page int64) {
	perConn := int64(2 * KernelBytesPerSocket)
	if cl, ok := b.cgroup("memory"); ok {
		l := results.Limit{Name: NameMemCgroup, Value: "max (none)", Scope: ScopeCgroup}
		if cl.limited {
			l.Value = fmt.Sprintf("%d (%s)", cl.limit, units.BytesTenths(cl.limit))
			l.Conns = clampInt(cl.limit / perConn)
			l.Raise = "echo BYTES > " + cl.file
		}
		b.add(l)
	}
	if b.env.MemTotal > 0 {
		b.add(results.Limit{Name: NameMemAvailable, Value: fmt.Sprintf("%d (%s of %s)", b.env.MemAvailable,
			units.BytesTenths(b.env.MemAvailable), units.BytesTenths(b.env.MemTotal)),
			Conns: clampInt(b.env.MemAvailable / perConn), Scope: ScopeSystem,
			Raise: "free memory (stop other work) or add RAM"})
	}
}

// cgroup reads this process's limit for controller; ok is false when the
// controller is not mounted (nothing to record) or reading failed.
func (b *builder) cgroup(controller string) (cgroupLimit, bool) {
	pc, ok := b.file("proc/self/cgroup")
	if !ok {
		return cgroupLimit{}, false
	}
	mi, ok := b.file("proc/self/mountinfo")
	if !ok {
		return cgroupLimit{}, false
	}
	cl, found, err := readCgroupLimit(b.fsys, pc, mi, controller)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%s cgroup: %w", controller, err))
		return cl, false
	}
	return cl, found
}

func rlimitValue(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// rlimitConns is the connections one process holds under an open-files
// limit of v.
func rlimitConns(v uint64) int {
	if v == unix.RLIM_INFINITY || v <= FDReserve {
		return 0
	}
	return clampInt(int64(min(v, 1<<62)) - FDReserve)
}

func clampInt(n int64) int {
	return int(max(0, min(n, int64(^uint(0)>>1))))
}

// cpuRanges formats sorted CPU numbers as a kernel CPU list ("0-3,8").
func cpuRanges(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
