// Command _rawfork is not a model: it is the prototype of option (a) in
// models/forked/README.md, kept so its figures can be measured again. A Go
// parent forks with a raw clone(2); the child runs only raw system calls
// in //go:nosplit functions on a package-level buffer and never returns to
// the Go runtime. It has none of the contract (no reports, no cap, no
// SIGTERM handling in the parent; SIGCHLD ignored so the kernel reaps).
//
//	go build -o /tmp/rawfork ./models/forked/_rawfork
//	ADDR=127.0.0.1:19992 /tmp/rawfork
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"
)

const sigSetmask = 2

var buf [4096]byte

type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

var dfl sigactiont // SIG_DFL, all zero
var allSigs = ^uint64(0)
var noSigs uint64

// rawFork clones the process. The caller has blocked every signal on
// this (locked) thread, so no Go signal handler can run in the child
// before child resets the dispositions. Nosplit all the way down: the
// child must never grow its stack, which would enter the runtime.
//
//go:nosplit
//go:norace
func rawFork(conn uintptr) (uintptr, syscall.Errno) {
	r1, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r1 != 0 {
		return r1, e
	}
	child(conn)
	return 0, 0
}

// child resets every signal to its default, dies with its parent,
// unblocks signals and echoes conn until EOF, then exit_group.
//
//go:nosplit
//go:norace
func child(conn uintptr) {
	for sig := uintptr(1); sig <= 64; sig++ {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&noSigs)), 0, 8, 0, 0)
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, conn, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			break
		}
		off := uintptr(0)
		for off < n {
			w, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, conn, uintptr(unsafe.Pointer(&buf[off])), n-off, syscall.MSG_NOSIGNAL, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 1, 0, 0)
			}
			off += w
		}
	}
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
}

func main() {
	runtime.LockOSThread()
	ln, err := net.Listen("tcp", os.Getenv("ADDR"))
	if err != nil {
		panic(err)
	}
	signal.Ignore(syscall.SIGCHLD) // auto-reap for the prototype
	f, _ := ln.(*net.TCPListener).File()
	lfd := int(f.Fd())
	syscall.SetNonblock(lfd, false)
	for {
		fd, _, err := syscall.Accept4(lfd, syscall.SOCK_CLOEXEC)
		if err != nil {
			continue
		}
		var old uint64
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&allSigs)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		pid, e := rawFork(uintptr(fd))
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
		if e != 0 {
			fmt.Fprintln(os.Stderr, "fork:", e)
		}
		_ = pid
		syscall.Close(fd)
	}
}
