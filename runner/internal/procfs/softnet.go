package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParseSoftnetDrops sums the second column of /proc/net/softnet_stat (one
// line a CPU, in hex): packets dropped because a CPU's input queue
// (net.core.netdev_max_backlog) was full. Loopback traffic passes through
// that queue too.
func ParseSoftnetDrops(b []byte) (int64, error) {
	var total int64
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(string(f[1]), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("softnet_stat: %w", err)
		}
		total += v
	}
	return total, nil
}
