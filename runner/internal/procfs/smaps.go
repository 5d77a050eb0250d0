package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParseSmapsRollup returns Rss and Pss in bytes from /proc/PID/smaps_rollup.
// A zombie's file is empty (it holds no memory): both are 0 then.
func ParseSmapsRollup(b []byte) (rss, pss int64, err error) {
	var haveRss, havePss bool
	for line := range bytes.Lines(b) {
		switch {
		case bytes.HasPrefix(line, []byte("Rss:")):
			rss, err = kbField(line[4:])
			haveRss = true
		case bytes.HasPrefix(line, []byte("Pss:")):
			pss, err = kbField(line[4:])
			havePss = true
		}
		if err != nil {
			return 0, 0, err
		}
		if haveRss && havePss {
			break
		}
	}
	return rss, pss, nil
}

// kbField parses "   1736 kB" into bytes.
func kbField(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	b = bytes.TrimSpace(bytes.TrimSuffix(b, []byte("kB")))
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", b, err)
	}
	return v * 1024, nil
}
