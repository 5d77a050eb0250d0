package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParseKeyed parses a file of "key value" lines, each value an integer:
// memory.oom_control, memory.stat, pids.events, /proc/vmstat. Lines of
// another shape are left out.
func ParseKeyed(b []byte) (map[string]int64, error) {
	m := make(map[string]int64)
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f[0], err)
		}
		m[string(f[0])] = v
	}
	return m, nil
}

// KeyedValue finds key in a file of "key value" lines without building a
// map, for the files the measurement loop reads every second
// (memory.stat): ok is false when no line has it.
func KeyedValue(b []byte, key string) (v int64, ok bool, err error) {
	for line := range bytes.Lines(b) {
		k, val, found := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
		if !found || string(k) != key {
			continue
		}
		v, err = strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
		if err != nil {
			return 0, true, fmt.Errorf("%s: %w", key, err)
		}
		return v, true, nil
	}
	return 0, false, nil
}
