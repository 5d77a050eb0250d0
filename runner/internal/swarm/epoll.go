package swarm

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollWait is epoll_pwait2(2): epoll_wait with a nanosecond timeout.
// epoll_wait's whole milliseconds would make every message up to 1 ms late,
// and since latency counts from the scheduled send time, that lag would be
// charged to the server.
func epollWait(epfd int, events []unix.EpollEvent, timeout time.Duration) (int, error) {
	ts := unix.NsecToTimespec(int64(max(timeout, 0)))
	n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
