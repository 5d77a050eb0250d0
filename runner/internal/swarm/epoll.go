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
// A short wait is a raw system call: the runtime is not told the thread
// blocks, so it does not hand the loop's P to another thread each time the
// wait lasts over 20 µs. With the ordinary call, that hand-off ran thousands
// of times a second at a 1 ms tick, a second thread of each agent competed
// with the loop for the CPU, and loop threads spent a third of each second
// waiting to run.
//
// A long wait (an idle agent's, or a coarse tick's) is an ordinary call. To
// the runtime a raw call is a goroutine running, and past 10 ms it preempts
// it with a signal: the wait ends early in EINTR. An idle agent sleeping
// 200 ms woke 55 times a second so. The hand-off costs little at such waits.
func epollWait(epfd int, events []unix.EpollEvent, timeout time.Duration) (int, error) {
	ts := unix.NsecToTimespec(int64(max(timeout, 0)))
	call := unix.RawSyscall6
	if timeout > rawWaitMax {
		call = unix.Syscall6
	}
	n, _, errno := call(unix.SYS_EPOLL_PWAIT2, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawWaitMax is the longest wait made as a raw call: well inside the
// runtime's 10 ms preemption.
const rawWaitMax = 2 * time.Millisecond
