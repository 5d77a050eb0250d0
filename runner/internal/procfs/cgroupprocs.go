package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParsePIDList parses a cgroup's cgroup.procs or tasks file: one PID a
// line, in no particular order.
func ParsePIDList(b []byte) ([]int, error) {
	var pids []int
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		pid, err := strconv.Atoi(string(line))
		if err != nil {
			return nil, fmt.Errorf("bad pid %q", line)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
