package procfs

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseNetstat parses the header/value line pairs of /proc/net/netstat
// and /proc/net/snmp ("TcpExt: A B" then "TcpExt: 1 2") into "TcpExt.A"
// → 1.
func ParseNetstat(r io.Reader) (map[string]int64, error) {
	m := make(map[string]int64, 256)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 16<<10), 1<<20)
	var header []string
	var section string
	for sc.Scan() {
		sec, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if header == nil || sec != section {
			section, header = sec, fields
			continue
		}
		if len(fields) != len(header) {
			return nil, fmt.Errorf("%s has %d names but %d values", sec, len(header), len(fields))
		}
		for i, name := range header {
			v, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				// Unsigned counters past 2^63 do not happen in practice;
				// say which one if it does.
				return nil, fmt.Errorf("%s.%s: %w", sec, name, err)
			}
			m[sec+"."+name] = v
		}
		header = nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return m, nil
}
