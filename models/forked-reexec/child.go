package main

import (
	"golang.org/x/sys/unix"

	"c10klab/models/internal/modelkit"
)

// childFD is where a child finds its connection (after stdin, stdout and
// stderr).
const childFD = 3

// childBuf is the child's only buffer. A package-level array lives in the
// binary's BSS: no heap allocation, and only the pages a read touches
// become private memory.
var childBuf [4096]byte

// child echoes the connection on fd until EOF or an error and returns the
// exit status. Without work it starts no goroutine and allocates nothing,
// so the process stays at what the Go runtime itself needs. Errors are not
// reported: the parent owns stdout, and a reset client is no fault of the
// model. The work, if any, comes from the environment the child inherits;
// the parent has checked it before it listened.
func child(fd int) int {
	defer unix.Close(fd)
	work, err := modelkit.LoadWork()
	if err != nil {
		return 2
	}
	var fr *modelkit.Framer
	if !work.None() {
		fr = modelkit.NewFramer(work.Size)
	}
	for {
		n, err := unix.Read(fd, childBuf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 1
		case n == 0: // EOF: everything received has been echoed
			if fr != nil && writeAll(fd, fr.Rest()) != nil { // but an incomplete request
				return 1
			}
			return 0
		}
		if fr == nil {
			err = writeAll(fd, childBuf[:n])
		} else {
			// The process is the connection's: wait= is its sleep.
			err = modelkit.Serial(fr, work, childBuf[:n], modelkit.Block, func(p []byte) error { return writeAll(fd, p) })
		}
		if err != nil {
			return 1
		}
	}
}

// writeAll writes p on the blocking descriptor fd.
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		w, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if w == 0 {
			return unix.EIO
		}
		p = p[w:]
	}
	return nil
}
