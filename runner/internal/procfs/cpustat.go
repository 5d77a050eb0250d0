package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// CPUStat is one "cpu" line of /proc/stat, in clock ticks (USER_HZ).
type CPUStat struct {
	// CPU is the CPU's number, -1 for the "cpu" line that sums them all.
	CPU int
	// Busy is every field but idle and iowait (user nice system irq
	// softirq steal; guest time is already inside user, so it is not
	// added again).
	Busy    int64
	Softirq int64
}

// ParseCPUStat returns the cpu lines of /proc/stat, the total first when
// the file has it (it always does: a file without it is an error).
func ParseCPUStat(b []byte) ([]CPUStat, error) {
	var out []CPUStat
	seen := false
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 0 || !bytes.HasPrefix(f[0], []byte("cpu")) {
			continue
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("short %s line", f[0])
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		var c CPUStat
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s field %d: %w", f[0], i+1, err)
			}
			if i != 3 && i != 4 { // idle, iowait
				c.Busy += n
			}
			if i == 6 {
				c.Softirq = n
			}
		}
		if string(f[0]) == "cpu" {
			c.CPU, seen = -1, true
			out = append(out, c)
			continue
		}
		n, err := strconv.Atoi(string(f[0][3:]))
		if err != nil || n < 0 || n > 1<<16 {
			return nil, fmt.Errorf("bad line %q", f[0])
		}
		c.CPU = n
		out = append(out, c)
	}
	if !seen {
		return nil, fmt.Errorf("no cpu line")
	}
	return out, nil
}
