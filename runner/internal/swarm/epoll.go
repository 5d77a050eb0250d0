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
//
// It is a raw system call: the runtime is not told the thread blocks, so
// it does not hand the loop's P to another thread each time the wait lasts
// over 20 µs. With the ordinary call, that hand-off ran thousands of times
// a second, a second thread of each agent competed with the loop for the
// CPU, and loop threads spent a third of each second waiting to run. The
// loop's waits are short (at most one tick, 1 ms), so
// holding the P through them costs the agent's other goroutines little.
func epollWait(epfd int, events []unix.EpollEvent, timeout time.Duration) (int, error) {
	ts := unix.NsecToTimespec(int64(max(timeout, 0)))
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
