package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ParseInt parses a file holding one integer and a newline (pids.current,
// cpuacct.usage, /proc/sys/kernel/pid_max).
func ParseInt(b []byte) (int64, error) {
	return strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
}

// ReadInt reads a file holding one integer; its errors name the file once.
func ReadInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, pathErr(err))
	}
	v, err := ParseInt(b)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// ParseMax parses a cgroup limit file that says "max" for no limit
// (pids.max, v2's memory.max): isMax is true then and v is 0.
func ParseMax(b []byte) (v int64, isMax bool, err error) {
	if s := bytes.TrimSpace(b); string(s) == "max" {
		return 0, true, nil
	}
	v, err = ParseInt(b)
	return v, false, err
}

// pathErr drops *os.PathError's own "open /path:" prefix, for messages
// that already name the file.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
