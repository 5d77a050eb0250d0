package probe

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procfs"
)

// atClkTck is AT_CLKTCK from the ELF auxiliary vector ABI; x/sys does not
// name it.
const atClkTck = 17

// clockTicks returns USER_HZ, the unit of utime/stime in /proc/PID/stat.
// x/sys has no sysconf, but glibc's sysconf(_SC_CLK_TCK) only reads
// AT_CLKTCK from the auxiliary vector the kernel hands every process, and
// so do we. When that is unavailable (unusual build modes) 100 is right on
// every architecture Linux runs Go on: the kernel fixes USER_HZ at 100 in
// its user ABI whatever CONFIG_HZ is.
func clockTicks() float64 {
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return float64(kv[1])
			}
		}
	}
	return 100
}

// fdCounter counts a process's open descriptors.
type fdCounter struct {
	// statSize: since Linux 6.2 stat(2) on /proc/PID/fd reports the number
	// of open descriptors as st_size, one syscall instead of listing a
	// directory that may hold 20,000 entries.
	statSize bool
	dents    []byte
}

func newFDCounter() *fdCounter {
	c := &fdCounter{dents: make([]byte, 32<<10)}
	// Older kernels report 0; this process always has descriptors open
	// (at least the runtime's), so a 0 here means the feature is absent.
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/fd", &st); err == nil && st.Size > 0 {
		c.statSize = true
	}
	return c
}

func (c *fdCounter) count(pid int) (int, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	if c.statSize {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			return 0, err
		}
		return int(st.Size), nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		k, err := unix.Getdents(fd, c.dents)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if k == 0 {
			return n - 2, nil // "." and ".."
		}
		// linux_dirent64: d_ino u64, d_off s64, d_reclen u16, ...
		for off := 0; off+18 <= k; {
			reclen := int(binary.NativeEndian.Uint16(c.dents[off+16:]))
			if reclen == 0 {
				break
			}
			n++
			off += reclen
		}
	}
}

// smapsRollup returns Rss and Pss in bytes from /proc/PID/smaps_rollup.
func smapsRollup(pid int, buf []byte) (rss, pss int64, out []byte, err error) {
	buf, err = procfs.ReadFile("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", buf)
	if err != nil {
		return 0, 0, buf, err
	}
	if rss, pss, err = procfs.ParseSmapsRollup(buf); err != nil {
		return 0, 0, buf, fmt.Errorf("smaps_rollup of pid %d: %w", pid, err)
	}
	return rss, pss, buf, nil
}

// readPIDList reads a cgroup.procs (or tasks) file: one PID a line.
func readPIDList(path string, buf []byte) ([]int, []byte, error) {
	buf, err := procfs.ReadFile(path, buf)
	if err != nil {
		return nil, buf, fmt.Errorf("probe: read %s: %w", path, err)
	}
	pids, err := procfs.ParsePIDList(buf)
	if err != nil {
		return nil, buf, fmt.Errorf("probe: %s: %w", path, err)
	}
	return pids, buf, nil
}
