package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// TCP states as /proc/net/tcp writes them (include/net/tcp_states.h).
const (
	tcpEstablished = 0x01
	tcpSynSent     = 0x02
	tcpSynRecv     = 0x03
	tcpListen      = 0x0A
)

// readSockets tallies the sockets on port in the network namespace of
// pid, from /proc/PID/net/tcp and tcp6. For a listening socket the
// rx_queue column is the accept queue's length (what ss shows as Recv-Q).
func readSockets(pid int, port uint16) (Sockets, error) {
	var s Sockets
	for _, name := range []string{"tcp", "tcp6"} {
		path := "/proc/" + strconv.Itoa(pid) + "/net/" + name
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && name == "tcp6" {
				continue
			}
			return s, fmt.Errorf("read sockets: %w", err)
		}
		err = tallySockets(f, port, &s)
		f.Close()
		if err != nil {
			return s, fmt.Errorf("read sockets: %s: %w", path, err)
		}
	}
	return s, nil
}

func tallySockets(r io.Reader, port uint16, s *Sockets) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Scan() // header
	for sc.Scan() {
		// sl local rem st tx_queue:rx_queue ...
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		lport, err1 := hexPort(f[1])
		rport, err2 := hexPort(f[2])
		st, err3 := strconv.ParseUint(f[3], 16, 8)
		txs, rxs, ok := strings.Cut(f[4], ":")
		if err := errors.Join(err1, err2, err3); err != nil || !ok {
			return fmt.Errorf("line %q: %v", sc.Text(), err)
		}
		tx, err1 := strconv.ParseUint(txs, 16, 32)
		rx, err2 := strconv.ParseUint(rxs, 16, 32)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		switch {
		case lport == port && st == tcpListen:
			s.Listening = true
			s.AcceptQueue += int(rx)
		case lport == port && st == tcpEstablished:
			s.ServerEstab++
		case lport == port && st == tcpSynRecv:
			s.SynRecv++
		case rport == port && st == tcpSynSent:
			s.SynSent++
		case rport == port && st == tcpEstablished:
			s.ClientEstab++
			if tx > 0 {
				s.Unacked++
			}
		case rport == port:
			s.Closing++
		}
	}
	return sc.Err()
}

// hexPort reads the port of "0100007F:270F".
func hexPort(addr string) (uint16, error) {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0, fmt.Errorf("address %q", addr)
	}
	v, err := strconv.ParseUint(p, 16, 16)
	return uint16(v), err
}

// mainSyscall returns the system call pid's main thread is blocked in, or
// -1 when it is running (/proc/PID/syscall).
func mainSyscall(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/syscall")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || f[0] == "running" {
		return -1, nil
	}
	return strconv.Atoi(f[0])
}
