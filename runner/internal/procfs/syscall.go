package procfs

import (
	"bytes"
	"strconv"
)

// ParseSyscall returns the system call number a thread is blocked in from
// /proc/PID/syscall ("230 0x0 ..."), or -1 when it is running ("running";
// an empty file counts as running too).
func ParseSyscall(b []byte) (int, error) {
	f := bytes.Fields(b)
	if len(f) == 0 || string(f[0]) == "running" {
		return -1, nil
	}
	return strconv.Atoi(string(f[0]))
}
