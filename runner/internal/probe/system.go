package probe

import (
	"fmt"
	"os"

	"c10klab/runner/internal/procfs"
	"c10klab/runner/internal/results"
)

// Counters are the TCP counters kept from /proc/net/netstat and
// /proc/net/snmp, keyed "<section>.<name>". They name what fails first
// under load: accept-queue overflows, resets, memory pressure, SYN
// cookies, retransmits.
var Counters = []string{
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops",
	"TcpExt.TCPAbortOnData", "TcpExt.TCPAbortOnMemory", "TcpExt.TCPAbortOnClose", "TcpExt.TCPAbortOnTimeout",
	"TcpExt.TCPMemoryPressures",
	"TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed",
	"TcpExt.TCPTimeouts", "TcpExt.TCPBacklogDrop",
	"TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies",
	"TcpExt.TCPSynRetrans", "TcpExt.TCPOFODrop", "TcpExt.PruneCalled",
	"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.EstabResets",
	"Tcp.CurrEstab", "Tcp.RetransSegs", "Tcp.InErrs", "Tcp.OutRsts", "Tcp.InSegs", "Tcp.OutSegs",
}

// gauges are the kept keys that are levels, not event counts.
var gauges = map[string]bool{"Tcp.CurrEstab": true}

// IsGauge reports whether key is a level (Tcp.CurrEstab) rather than a
// cumulative count; its results.CounterDeltas entry is a change, not a total.
func IsGauge(key string) bool { return gauges[key] }

// ReadSystem reads the kernel's view of memory and TCP: /proc/meminfo,
// /proc/net/sockstat, /proc/net/netstat and /proc/net/snmp (of this
// process's network namespace).
func ReadSystem() (results.System, error) {
	var s results.System
	mem, err := procfs.ReadMeminfo()
	if err != nil {
		return s, fmt.Errorf("probe: %w", err)
	}
	s.MemAvailable, s.Slab, s.SUnreclaim = mem["MemAvailable"], mem["Slab"], mem["SUnreclaim"]

	sock, err := readSockstat("/proc/net/sockstat")
	if err != nil {
		return s, err
	}
	s.TCPInUse, s.TCPOrphan, s.TCPTimeWait = sock["inuse"], sock["orphan"], sock["tw"]
	s.TCPMem = sock["mem"] * int64(os.Getpagesize())

	s.Counters = make(map[string]int64, len(Counters))
	for _, path := range []string{"/proc/net/netstat", "/proc/net/snmp"} {
		all, err := readPairs(path)
		if err != nil {
			return s, err
		}
		for _, k := range Counters {
			if v, ok := all[k]; ok {
				s.Counters[k] = v
			}
		}
	}
	// The machine's OOM kills: the evidence that tells a model the kernel
	// killed for memory from one killed by hand. Absent on old kernels.
	if v, err := readVmstat("/proc/vmstat", "oom_kill"); err == nil {
		s.Counters[OOMKillCounter] = v
	}
	// The machine's CPU and memory stalls: what tells a model starved of
	// CPU by the swarm beside it, or stalled in reclaim, from one that is
	// slow by itself. Both are machine-wide; PSI is absent without
	// CONFIG_PSI, and then MemStall stays 0.
	if s.CPUBusy, s.PerCPU, err = readCPU("/proc/stat"); err != nil {
		return s, err
	}
	if v, err := readPressureSome("/proc/pressure/memory"); err == nil {
		s.MemStall = v
	}
	return s, nil
}

// readCPU returns the seconds all CPUs spent busy since boot (the "cpu"
// line of /proc/stat less idle and iowait; the kernel counts guest time
// inside user time, so it is not added again) and each CPU's busy and
// softirq seconds, indexed by CPU number.
func readCPU(path string) (busy float64, per []results.CPUTime, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("probe: %w", err)
	}
	cpus, err := procfs.ParseCPUStat(b)
	if err != nil {
		return 0, nil, fmt.Errorf("probe: %s: %w", path, err)
	}
	hz := clockTicks()
	for _, c := range cpus {
		if c.CPU < 0 {
			busy = float64(c.Busy) / hz
			continue
		}
		for len(per) <= c.CPU {
			per = append(per, results.CPUTime{})
		}
		per[c.CPU] = results.CPUTime{Busy: float64(c.Busy) / hz, Softirq: float64(c.Softirq) / hz}
	}
	return busy, per, nil
}

// readPressureSome returns the "some" total of a PSI file in seconds: how
// long at least one task waited on the resource.
func readPressureSome(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	us, err := procfs.ParsePressureSome(b)
	if err != nil {
		return 0, fmt.Errorf("probe: %s: %w", path, err)
	}
	return float64(us) / 1e6, nil
}

// OOMKillCounter is the key of /proc/vmstat's oom_kill in System.Counters.
const OOMKillCounter = "vmstat.oom_kill"

func readVmstat(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, ok, err := procfs.KeyedValue(b, key)
	if err == nil && !ok {
		err = fmt.Errorf("no %s", key)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readSockstat returns the TCP line of sockstat:
// "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1".
func readSockstat(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	m, err := procfs.ParseSockstatTCP(b)
	if err != nil {
		return nil, fmt.Errorf("probe: %s: %w", path, err)
	}
	return m, nil
}

// readPairs reads /proc/net/netstat or /proc/net/snmp into "TcpExt.A" → 1.
func readPairs(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	defer f.Close()
	m, err := procfs.ParseNetstat(f)
	if err != nil {
		return nil, fmt.Errorf("probe: %s: %w", path, err)
	}
	return m, nil
}
