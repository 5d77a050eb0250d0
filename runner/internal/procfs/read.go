package procfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ReadFile reads a small /proc or cgroup file into buf with raw system
// calls and returns it, grown when the file did not fit: the caller keeps
// the result (its full capacity) for the next read. os.Open would also
// try to register the descriptor with the poller, one more system call per
// file, and the probe reads thousands of files a second this way.
func ReadFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf[:0], err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf)+4096)...)
		}
		k, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], err
		}
		if k == 0 {
			return buf[:n], nil
		}
		n += k
	}
}

// Gone reports whether err from reading a process's file means the
// process exited meanwhile, which is normal for a tree that changes while
// it is read.
func Gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
