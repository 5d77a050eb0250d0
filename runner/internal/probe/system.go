package probe

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

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
// cumulative count; its CounterDeltas entry is a change, not a total.
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
	hz := clockTicks()
	seen := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if len(f) < 8 {
			return 0, nil, fmt.Errorf("probe: %s: short %s line", path, f[0])
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		var sum, softirq int64
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, nil, fmt.Errorf("probe: %s: %s field %d: %w", path, f[0], i+1, err)
			}
			if i != 3 && i != 4 { // idle, iowait
				sum += n
			}
			if i == 6 {
				softirq = n
			}
		}
		if f[0] == "cpu" {
			busy, seen = float64(sum)/hz, true
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil || n < 0 || n > 1<<16 {
			return 0, nil, fmt.Errorf("probe: %s: bad line %q", path, f[0])
		}
		for len(per) <= n {
			per = append(per, results.CPUTime{})
		}
		per[n] = results.CPUTime{Busy: float64(sum) / hz, Softirq: float64(softirq) / hz}
	}
	if !seen {
		return 0, nil, fmt.Errorf("probe: %s: no cpu line", path)
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
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "some ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("probe: %s: %w", path, err)
				}
				return float64(us) / 1e6, nil
			}
		}
	}
	return 0, fmt.Errorf("probe: %s: no some total", path)
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
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		m := make(map[string]int64, len(f)/2)
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("probe: %s: TCP %s: %w", path, f[i], err)
			}
			m[f[i]] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("probe: %s: no TCP line", path)
}

// readPairs parses the header/value line pairs of /proc/net/netstat and
// /proc/net/snmp ("TcpExt: A B" then "TcpExt: 1 2") into "TcpExt.A" → 1.
func readPairs(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	defer f.Close()
	return parsePairs(path, f)
}

func parsePairs(path string, r io.Reader) (map[string]int64, error) {
	m := make(map[string]int64, 256)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 16<<10), 1<<20)
	var header []string
	var section string
	for sc.Scan() {
		sec, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if header == nil || sec != section {
			section, header = sec, fields
			continue
		}
		if len(fields) != len(header) {
			return nil, fmt.Errorf("probe: %s: %s has %d names but %d values", path, sec, len(header), len(fields))
		}
		for i, name := range header {
			v, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				// Unsigned counters past 2^63 do not happen in practice;
				// say which one if it does.
				return nil, fmt.Errorf("probe: %s: %s.%s: %w", path, sec, name, err)
			}
			m[sec+"."+name] = v
		}
		header = nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("probe: read %s: %w", path, err)
	}
	return m, nil
}

// CounterDeltas returns after−before for every key of after whose value
// changed (a key missing from before counts from 0). Gauges (IsGauge) are
// treated the same way on purpose: over a step, the change in established
// connections is the comparable figure, and the level itself is in every
// Sample's System.Counters. A negative delta is kept; it can only come from
// a gauge falling (or counters reset by a new network namespace).
func CounterDeltas(before, after map[string]int64) map[string]int64 {
	d := make(map[string]int64)
	for k, a := range after {
		if v := a - before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}
