package main

import "golang.org/x/sys/unix"

// childFD is where a child finds its connection (after stdin, stdout and
// stderr).
const childFD = 3

// childBuf is the child's only buffer. A package-level array lives in the
// binary's BSS: no heap allocation, and only the pages a read touches
// become private memory.
var childBuf [4096]byte

// child echoes the connection on fd until EOF or an error and returns the
// exit status. It starts no goroutine and allocates nothing, so the
// process stays at what the Go runtime itself needs. Errors are not
// reported: the parent owns stdout, and a reset client is no fault of the
// model.
func child(fd int) int {
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, childBuf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 1
		case n == 0: // EOF: everything received has been echoed
			return 0
		}
		for p := childBuf[:n]; len(p) > 0; {
			w, err := unix.Write(fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil || w == 0 {
				return 1
			}
			p = p[w:]
		}
	}
}
