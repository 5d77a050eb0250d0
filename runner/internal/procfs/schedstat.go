package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// Schedstat is /proc/PID/task/TID/schedstat: "88666 67826 2".
type Schedstat struct {
	RunNs   int64 // time on a CPU
	DelayNs int64 // time runnable but waiting for a CPU (the run delay)
	Slices  int64 // times it ran
}

// ParseSchedstat parses a schedstat file.
func ParseSchedstat(b []byte) (Schedstat, error) {
	var s Schedstat
	f := bytes.Fields(b)
	if len(f) < 3 {
		return s, fmt.Errorf("schedstat %q: want 3 fields", b)
	}
	var err error
	for i, dst := range [...]*int64{&s.RunNs, &s.DelayNs, &s.Slices} {
		if *dst, err = strconv.ParseInt(string(f[i]), 10, 64); err != nil {
			return Schedstat{}, fmt.Errorf("schedstat field %d: %w", i+1, err)
		}
	}
	return s, nil
}
