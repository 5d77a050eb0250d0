package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParsePressureSome returns the "some" total of a PSI file
// (/proc/pressure/memory) in microseconds: how long at least one task
// waited on the resource.
func ParsePressureSome(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("some "))
		if !ok {
			continue
		}
		for _, kv := range bytes.Fields(rest) {
			if v, ok := bytes.CutPrefix(kv, []byte("total=")); ok {
				us, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("some total: %w", err)
				}
				return us, nil
			}
		}
	}
	return 0, fmt.Errorf("no some total")
}
