package swarm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loop's socket calls are raw system calls: the runtime is not told
// the thread enters the kernel. Every socket is non-blocking, so none of
// these calls waits; but a loopback write or connect runs the peer's
// receive path in the caller's context and takes 10-70 µs. With one P
// (an agent pinned to one CPU: GOMAXPROCS follows the affinity mask) and
// no idle P, the runtime's monitor hands the P of a thread in such a
// call to another thread after 20 µs, wakes a spinning thread on the same
// CPU to look for work, and drops its own polling interval back to 20 µs.
// Measured (docs/swarm-vs-tcpkali.md), one agent on one CPU holding 5,000
// connections at a message a second: the monitor's sleeps fell from 2,900
// a second to 96 and the agent's CPU from 0.140 to 0.119 (0.387 to 0.313
// at 19,000). Raw, the runtime sees a goroutine running, which it only
// preempts after 10 ms (an EINTR the callers already take).

// rawWrite is write(2).
func rawWrite(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawEpollCtl is epoll_ctl(2).
func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	if _, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// rawSocket is socket(2) for a non-blocking IPv4 TCP socket.
func rawSocket() (int, error) {
	fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// rawSetsockoptInt is setsockopt(2) with an int value.
func rawSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	if _, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0); errno != 0 {
		return errno
	}
	return nil
}

// rawSockaddr calls bind(2) or connect(2) (sysno) with an IPv4 address.
func rawSockaddr(sysno uintptr, fd int, addr [4]byte, port uint16) error {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr}
	// The port in network byte order.
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	if _, _, errno := unix.RawSyscall(sysno, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4); errno != 0 {
		return errno
	}
	return nil
}

// rawClose is close(2).
func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}
