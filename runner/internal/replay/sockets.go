package replay

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"c10klab/runner/internal/procfs"
)

// readSockets tallies the sockets on port in the network namespace of
// pid, from /proc/PID/net/tcp and tcp6. For a listening socket the
// rx_queue column is the accept queue's length (what ss shows as Recv-Q).
func readSockets(pid int, port uint16) (Sockets, error) {
	var s Sockets
	err := procfs.ReadTCPTables("/proc/"+strconv.Itoa(pid)+"/net", func(sock procfs.TCPSocket) { s.add(sock, port) })
	if err != nil {
		return Sockets{}, fmt.Errorf("read sockets: %w", err)
	}
	return s, nil
}

// tallySockets adds the sockets on port of one /proc/net/tcp table to s.
func tallySockets(r io.Reader, port uint16, s *Sockets) error {
	return procfs.ParseTCP(r, func(sock procfs.TCPSocket) { s.add(sock, port) })
}

// add counts one socket of the kernel's table on port's side it is on.
func (s *Sockets) add(sock procfs.TCPSocket, port uint16) {
	lport, rport, st := sock.LocalPort, sock.RemotePort, sock.State
	switch {
	case lport == port && st == procfs.TCPListen:
		s.Listening = true
		s.AcceptQueue += int(sock.RxQueue)
	case lport == port && st == procfs.TCPEstablished:
		s.ServerEstab++
	case lport == port && st == procfs.TCPSynRecv:
		s.SynRecv++
	case rport == port && st == procfs.TCPSynSent:
		s.SynSent++
	case rport == port && st == procfs.TCPEstablished:
		s.ClientEstab++
		if sock.TxQueue > 0 {
			s.Unacked++
		}
	case rport == port:
		s.Closing++
	}
}

// mainSyscall returns the system call pid's main thread is blocked in, or
// -1 when it is running (/proc/PID/syscall).
func mainSyscall(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/syscall")
	if err != nil {
		return 0, err
	}
	return procfs.ParseSyscall(b)
}
