package probe

import (
	"fmt"
	"strconv"
)

// ReadCountersOf reads the kept TCP Counters from /proc/PID/net/netstat and
// /proc/PID/net/snmp: the counters of the network namespace pid lives in,
// which is how a runner outside a namespace it created reads that
// namespace's counters (its own /proc/net shows its own namespace).
func ReadCountersOf(pid int) (map[string]int64, error) {
	out := make(map[string]int64, len(Counters))
	for _, name := range []string{"netstat", "snmp"} {
		all, err := readPairs("/proc/" + strconv.Itoa(pid) + "/net/" + name)
		if err != nil {
			return nil, fmt.Errorf("counters of pid %d: %w", pid, err)
		}
		for _, k := range Counters {
			if v, ok := all[k]; ok {
				out[k] = v
			}
		}
	}
	return out, nil
}
