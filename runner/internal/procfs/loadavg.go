package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// Loadavg is /proc/loadavg: "0.90 0.71 2.68 7/128 7001".
type Loadavg struct {
	Load1, Load5, Load15 float64
	// Running is the tasks runnable now; Tasks every task on the machine
	// (threads of every process), each holding a pid, which is what
	// kernel.pid_max and kernel.threads-max count.
	Running, Tasks int64
	LastPID        int64
}

// ParseLoadavg parses /proc/loadavg.
func ParseLoadavg(b []byte) (Loadavg, error) {
	var l Loadavg
	f := bytes.Fields(b)
	if len(f) < 5 {
		return l, fmt.Errorf("loadavg %q: want 5 fields", b)
	}
	run, tasks, ok := bytes.Cut(f[3], []byte("/"))
	if !ok {
		return l, fmt.Errorf("loadavg %q: want running/total in field 4", b)
	}
	var errs [6]error
	l.Load1, errs[0] = strconv.ParseFloat(string(f[0]), 64)
	l.Load5, errs[1] = strconv.ParseFloat(string(f[1]), 64)
	l.Load15, errs[2] = strconv.ParseFloat(string(f[2]), 64)
	l.Running, errs[3] = strconv.ParseInt(string(run), 10, 64)
	l.Tasks, errs[4] = strconv.ParseInt(string(tasks), 10, 64)
	l.LastPID, errs[5] = strconv.ParseInt(string(f[4]), 10, 64)
	for _, err := range errs {
		if err != nil {
			return Loadavg{}, fmt.Errorf("loadavg %q: %w", b, err)
		}
	}
	return l, nil
}
