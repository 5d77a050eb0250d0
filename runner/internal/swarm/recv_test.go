package swarm

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A stamped read reports when the data reached the socket, however late it
// is read; without SO_TIMESTAMPNS it reports no stamp at all.
func TestStampedReaderTimesArrivalNotRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stamped bool
	}{
		{"SO_TIMESTAMPNS set", true},
		{"SO_TIMESTAMPNS not set", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := make(chan net.Conn, 1)
			addr := server(t, func(c net.Conn) { peer <- c; io.Copy(io.Discard, c) })
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if tc.stamped {
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); err != nil {
				t.Fatal(err)
			}
			c := <-peer
			var r stampedReader
			r.init(make([]byte, 64))

			// The kernel switches receive timestamping on asynchronously
			// when the first socket asks for it, and until then may hand
			// over a stamp on another clock; a few rounds let it settle.
			var stamp, sent, readAt int64
			for round := 0; round < 5; round++ {
				sent = time.Now().UnixNano()
				if _, err := c.Write([]byte("0123456789abcdef")); err != nil {
					t.Fatal(err)
				}
				// Loopback delivers within the write; the read comes well after.
				time.Sleep(50 * time.Millisecond)
				readAt = time.Now().UnixNano()
				var n int
				if n, stamp, err = r.read(fd); err != nil || n != 16 {
					t.Fatalf("read = %d, %v; want 16 bytes", n, err)
				}
				if !tc.stamped {
					if stamp != 0 {
						t.Fatalf("stamp = %d without SO_TIMESTAMPNS, want 0", stamp)
					}
					return
				}
				if stamp >= sent && stamp < readAt {
					break
				}
			}
			if tc.stamped && (stamp < sent || stamp >= readAt) {
				t.Errorf("stamp %v after the write, want between the write and the read %v later",
					time.Duration(stamp-sent), time.Duration(readAt-sent))
			}
		})
	}
}
