package procfs

import (
	"bytes"
	"fmt"
	"os"
)

// ParseMeminfo parses /proc/meminfo into bytes per line name: the "kB"
// values (KiB) scaled, the few unitless lines (HugePages_Total) as they
// are. MemTotal and MemAvailable must be there: every caller needs them.
func ParseMeminfo(b []byte) (map[string]int64, error) {
	m := make(map[string]int64, 64)
	for line := range bytes.Lines(b) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(val)
		if len(f) == 0 {
			continue
		}
		v, err := ParseInt(f[0])
		if err != nil {
			return nil, fmt.Errorf("meminfo %s: %w", name, err)
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			v <<= 10
		}
		m[string(name)] = v
	}
	for _, k := range []string{"MemTotal", "MemAvailable"} {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("meminfo: no %s line", k)
		}
	}
	return m, nil
}

// ReadMeminfo reads and parses /proc/meminfo.
func ReadMeminfo() (map[string]int64, error) {
	const path = "/proc/meminfo"
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseMeminfo(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
