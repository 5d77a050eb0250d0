package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParseSockstatTCP returns the TCP line of /proc/net/sockstat as name →
// value: "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1" (mem in pages).
func ParseSockstatTCP(b []byte) (map[string]int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("TCP:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		m := make(map[string]int64, len(f)/2)
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("TCP %s: %w", f[i], err)
			}
			m[string(f[i])] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("no TCP line")
}
