package model

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procfs"
)

// CheckPortFree fails when something already listens on addr, naming the
// process when it can be found. The model would otherwise fail to bind, or
// worse, with SO_REUSEPORT share the port with a stranger and split the load.
func CheckPortFree(addr netip.AddrPort) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("check port %d: %w", addr.Port(), err)
	}
	defer unix.Close(fd)
	// SO_REUSEADDR as the models set it: connections of a previous run
	// lingering in TIME_WAIT do not stop a model from listening, so they
	// must not stop the run either; only a listener does.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("check port %d: %w", addr.Port(), err)
	}
	err = unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()})
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("check port %s: %w", addr, err)
	}
	owner := ""
	if pids, _ := ListeningPIDs(addr.Port()); len(pids) > 0 {
		for pid := range pids {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			owner += fmt.Sprintf(" pid %d (%s)", pid, strings.TrimSpace(string(comm)))
		}
		owner = "; held by" + owner
	}
	return fmt.Errorf("port %d is already in use on %s%s: stop that process or choose another port with --port", addr.Port(), addr.Addr(), owner)
}

// ListeningPIDs returns the processes holding a listening TCP socket on
// port, from /proc/net/tcp{,6} and the processes' descriptor tables.
func ListeningPIDs(port uint16) (map[int]bool, error) {
	inodes := map[string]bool{}
	err := procfs.ReadTCPTables("/proc/net", func(s procfs.TCPSocket) {
		if s.State == procfs.TCPListen && s.LocalPort == port {
			inodes[s.Inode] = true
		}
	})
	if err != nil {
		return nil, err
	}
	pids := map[int]bool{}
	if len(inodes) == 0 {
		return pids, nil
	}
	procs, err := procfs.ListPIDs()
	if err != nil {
		return nil, err
	}
	for _, pid := range procs {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if inode, ok := procfs.SocketInode(link); err == nil && ok && inodes[inode] {
				pids[pid] = true
				break
			}
		}
	}
	return pids, nil
}
