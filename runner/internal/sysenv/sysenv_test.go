package sysenv

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// fakeRoot is a small machine: 1024 soft open files, pid_max 32768, a
// 1 GiB memory cgroup.
func fakeRoot() fstest.MapFS {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		"proc/meminfo":                  f("MemTotal: 4194304 kB\nMemAvailable: 2097152 kB\n"),
		"proc/loadavg":                  f("0.10 0.20 0.30 2/300 4242\n"),
		"proc/self/cgroup":              f(hybridCgroup),
		"proc/self/mountinfo":           f(hybridMountinfo),
		"sys/devices/system/cpu/online": f("0-3\n"),
		"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": f("1073741824\n"),
		"sys/fs/cgroup/pids/tasks":                          f("1\n"),
		"proc/sys/fs/file-max":                              f("100000\n"),
		"proc/sys/fs/nr_open":                               f("1048576\n"),
		"proc/sys/kernel/threads-max":                       f("60000\n"),
		"proc/sys/kernel/pid_max":                           f("32768\n"),
		"proc/sys/vm/max_map_count":                         f("65530\n"),
		"proc/sys/vm/overcommit_memory":                     f("0\n"),
		"proc/sys/net/core/somaxconn":                       f("128\n"),
		"proc/sys/net/ipv4/tcp_max_syn_backlog":             f("512\n"),
		"proc/sys/net/ipv4/tcp_syncookies":                  f("1\n"),
		"proc/sys/net/ipv4/ip_local_port_range":             f("32768\t60999\n"),
		"proc/sys/net/ipv4/tcp_mem":                         f("1000\t2000\t3000\n"),
		"proc/sys/net/ipv4/tcp_rmem":                        f("4096\t131072\t6291456\n"),
		"proc/sys/net/ipv4/tcp_wmem":                        f("4096\t16384\t4194304\n"),
		"proc/sys/net/ipv4/tcp_max_orphans":                 f("8192\n"),
		"proc/sys/net/ipv4/tcp_max_tw_buckets":              f("8192\n"),
		"proc/sys/net/ipv4/tcp_tw_reuse":                    f("2\n"),
	}
}

func fakeHost() host {
	return host{
		kernel: "6.1.0-test", numCPU: 2, affinity: []int{0, 1}, pageSize: 4096,
		nofile: unix.Rlimit{Cur: 1024, Max: 4096},
		nproc:  unix.Rlimit{Cur: 5000, Max: 5000},
	}
}

func findLimit(t *testing.T, env results.Environment, name string) results.Limit {
	t.Helper()
	for _, l := range env.Limits {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("limit %q not recorded", name)
	return results.Limit{}
}

func TestBuild(t *testing.T) {
	env, err := build(fakeRoot(), fakeHost())
	if err != nil {
		t.Fatal(err)
	}
	if env.Kernel != "6.1.0-test" || env.CPUs != 2 || env.PageSize != 4096 || env.MemTotal != 4<<30 || env.MemAvailable != 2<<30 {
		t.Errorf("machine: %+v", env)
	}
	tests := []struct {
		name      string
		value     string // prefix of Value
		conns     int
		scope     string
		raiseHint string // substring of Raise
	}{
		{NameCPUs, "2 (cpus 0-1 of 4 online)", 0, ScopeProcess, "taskset"},
		{NameNoFileSoft, "1024", 1024 - FDReserve, ScopeProcess, "up to the hard"},
		{NameNoFileHard, "4096", 4096 - FDReserve, ScopeProcess, "LimitNOFILE"},
		{NameFileMax, "100000", 50000, ScopeSystem, "fs.file-max"},
		{NameNrOpen, "1048576", 1048576 - FDReserve, ScopeProcess, "fs.nr_open"},
		{NameNProc, "5000", 0, ScopeUser, "ulimit -u"},
		{NamePidMax, "32768", 0, ScopeSystem, "kernel.pid_max=4194304"},
		{NameTasks, "300", 0, ScopeSystem, ""},
		{NamePidsCgroup, "max", 0, ScopeCgroup, ""},
		{NameSomaxconn, "128", 0, ScopeSystem, "somaxconn"},
		{NamePortRange, "32768 60999 (28,232 ports", 28232, ScopeSystem, "127.x"},
		{NameTCPMem, "1000 2000 3000 pages = 3.9 MiB 7.8 MiB 11.7 MiB", 1500, ScopeSystem, "tcp_mem"},
		{NameTCPRmem, "4096 131072 6291456", 0, ScopeSystem, "tcp_rmem"},
		{NameMemCgroup, "1073741824 (1.0 GiB)", (1 << 30) / (2 * KernelBytesPerSocket), ScopeCgroup, "/sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes"},
		{NameMemAvailable, "2147483648 (2.0 GiB of 4.0 GiB)", (2 << 30) / (2 * KernelBytesPerSocket), ScopeSystem, ""},
	}
	for _, tt := range tests {
		l := findLimit(t, env, tt.name)
		if !strings.HasPrefix(l.Value, tt.value) || l.Conns != tt.conns || l.Scope != tt.scope || !strings.Contains(l.Raise, tt.raiseHint) {
			t.Errorf("%s = %+v; want value %q conns %d scope %s raise containing %q", tt.name, l, tt.value, tt.conns, tt.scope, tt.raiseHint)
		}
	}
}

func TestBuildGoRaisedSoftLimit(t *testing.T) {
	h := fakeHost()
	h.nofile = unix.Rlimit{Cur: 4095, Max: 4096} // what the Go runtime leaves after raising
	env, err := build(fakeRoot(), h)
	if err != nil {
		t.Fatal(err)
	}
	if l := findLimit(t, env, NameNoFileSoft); !strings.Contains(l.Value, "Go runtime") || l.Conns != 4095-FDReserve {
		t.Errorf("soft limit raised by Go not flagged: %+v", l)
	}
}

// A missing file is an error, but the rest is still recorded.
func TestBuildPartial(t *testing.T) {
	root := fakeRoot()
	delete(root, "proc/sys/kernel/pid_max")
	env, err := build(root, fakeHost())
	if err == nil || !strings.Contains(err.Error(), "pid_max") {
		t.Fatalf("err = %v, want one naming pid_max", err)
	}
	for _, l := range env.Limits {
		if l.Name == NamePidMax {
			t.Errorf("pid_max recorded though unreadable: %+v", l)
		}
	}
	findLimit(t, env, NameSomaxconn)
}

// Read on this machine reports this process's real open-files limits and
// the kernel's somaxconn.
func TestReadThisMachine(t *testing.T) {
	env, err := Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{NameNoFileSoft: lim.Cur, NameNoFileHard: lim.Max} {
		l := findLimit(t, env, name)
		got, err := parseInt(l.Value)
		if err != nil || uint64(got) != want {
			t.Errorf("%s = %q, getrlimit says %d", name, l.Value, want)
		}
		if l.Conns != int(want)-FDReserve {
			t.Errorf("%s conns = %d, want %d", name, l.Conns, int(want)-FDReserve)
		}
	}
	raw, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	if l := findLimit(t, env, NameSomaxconn); l.Value != strings.TrimSpace(string(raw)) {
		t.Errorf("somaxconn = %q, /proc/sys says %q", l.Value, strings.TrimSpace(string(raw)))
	}
	if env.Kernel == "" || env.CPUs < 1 || env.MemTotal <= 0 || env.MemAvailable <= 0 || env.PageSize != os.Getpagesize() {
		t.Errorf("machine record incomplete: %+v", env)
	}
	if env.Root != (os.Geteuid() == 0) {
		t.Errorf("root = %v, euid %d", env.Root, os.Geteuid())
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	if l := findLimit(t, env, NameCPUs); !strings.HasPrefix(l.Value, strconv.Itoa(set.Count())+" ") {
		t.Errorf("CPUs = %q, affinity mask has %d", l.Value, set.Count())
	}
}
