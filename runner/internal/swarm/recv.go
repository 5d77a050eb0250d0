package swarm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampedReader reads a TCP socket with recvmsg(2) and returns, with the
// data, the time the kernel received it: the SO_TIMESTAMPNS control message
// of the last segment read. Its buffers are set up once, so a read
// allocates nothing. The socket is non-blocking and the call raw (raw.go).
type stampedReader struct {
	buf []byte
	oob [64]byte
	iov unix.Iovec
	msg unix.Msghdr
}

func (r *stampedReader) init(buf []byte) {
	r.buf = buf
	r.iov.Base = &buf[0]
	r.iov.SetLen(len(buf))
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.msg.Control = &r.oob[0]
}

// read reads what fd holds into the buffer given to init. stamp is the
// receive time in wall-clock nanoseconds, or 0 when the kernel gave none
// (SO_TIMESTAMPNS not set, or nothing read).
func (r *stampedReader) read(fd int) (n int, stamp int64, err error) {
	r.msg.SetControllen(len(r.oob))
	r.msg.Flags = 0
	got, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
	if errno != 0 {
		return 0, 0, errno
	}
	return int(got), r.stamp(), nil
}

func (r *stampedReader) stamp() int64 {
	const hdr = unix.SizeofCmsghdr
	end := min(int(r.msg.Controllen), len(r.oob))
	for off := 0; off+hdr <= end; {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&r.oob[off]))
		if h.Len < hdr || off+int(h.Len) > end {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && int(h.Len) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&r.oob[off+unix.CmsgLen(0)]))
			return ts.Nano()
		}
		off += unix.CmsgSpace(int(h.Len) - unix.CmsgLen(0))
	}
	return 0
}
