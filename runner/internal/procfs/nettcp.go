package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// TCP states as /proc/net/tcp writes them (include/net/tcp_states.h).
const (
	TCPEstablished = 0x01
	TCPSynSent     = 0x02
	TCPSynRecv     = 0x03
	TCPListen      = 0x0A
)

// TCPSocket is one line of /proc/net/tcp or tcp6: enough to tell which
// socket serves which client, and how much waits in its queues.
type TCPSocket struct {
	LocalPort, RemotePort uint16
	State                 int
	// TxQueue and RxQueue are bytes in the send and receive queues; for a
	// listening socket RxQueue is the accept queue's length (what ss
	// shows as Recv-Q).
	TxQueue, RxQueue uint32
	// Inode is the socket's inode number, as a process's descriptor
	// links name it ("socket:[Inode]", SocketInode).
	Inode string
}

// ParseTCP calls each for every socket of a /proc/net/tcp or tcp6 table,
// streaming: a table of 40,000 sockets is read without holding it whole.
func ParseTCP(r io.Reader, each func(TCPSocket)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Scan() // header
	for sc.Scan() {
		line := sc.Bytes()
		s, err := parseTCPLine(line)
		if err != nil {
			return fmt.Errorf("line %q: %w", line, err)
		}
		each(s)
	}
	return sc.Err()
}

// parseTCPLine reads "sl local_address rem_address st tx_queue:rx_queue
// tr:tm->when retrnsmt uid timeout inode ...".
func parseTCPLine(line []byte) (TCPSocket, error) {
	var s TCPSocket
	f := bytes.Fields(line)
	if len(f) < 10 {
		return s, fmt.Errorf("%d fields, want 10 or more", len(f))
	}
	local, err1 := hexPort(f[1])
	remote, err2 := hexPort(f[2])
	st, err3 := strconv.ParseUint(string(f[3]), 16, 8)
	tx, rx, ok := bytes.Cut(f[4], []byte(":"))
	if !ok {
		return s, fmt.Errorf("queues %q", f[4])
	}
	txq, err4 := strconv.ParseUint(string(tx), 16, 32)
	rxq, err5 := strconv.ParseUint(string(rx), 16, 32)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return s, err
	}
	return TCPSocket{LocalPort: local, RemotePort: remote, State: int(st),
		TxQueue: uint32(txq), RxQueue: uint32(rxq), Inode: string(f[9])}, nil
}

// hexPort reads the port of an address field, "0100007F:270F".
func hexPort(addr []byte) (uint16, error) {
	_, p, ok := bytes.Cut(addr, []byte(":"))
	if !ok {
		return 0, fmt.Errorf("address %q: no port", addr)
	}
	v, err := strconv.ParseUint(string(p), 16, 16)
	return uint16(v), err
}

// ReadTCPTables calls each for every socket of dir/tcp and dir/tcp6, dir
// being /proc/net (this process's network namespace) or /proc/PID/net
// (pid's). A kernel without IPv6 has no tcp6, which is not an error.
func ReadTCPTables(dir string, each func(TCPSocket)) error {
	for _, name := range []string{"tcp", "tcp6"} {
		path := dir + "/" + name
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && name == "tcp6" {
			continue
		}
		if err != nil {
			return fmt.Errorf("read socket table: %w", err)
		}
		err = ParseTCP(f, each)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	return nil
}

// SocketInode returns the inode of a descriptor link that names a socket
// ("socket:[1234]" gives "1234"); ok is false for any other link.
func SocketInode(link string) (inode string, ok bool) {
	rest, ok := strings.CutPrefix(link, "socket:[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return "", false
	}
	return rest[:len(rest)-1], true
}
