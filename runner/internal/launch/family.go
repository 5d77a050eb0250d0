package launch

import (
	"fmt"
	"os"
	"path/filepath"

	"c10klab/runner/internal/procfs"
)

// Proc is one process as /proc/<pid>/stat describes it.
type Proc struct {
	PID, PPID, PGrp int
	State           byte   // R, S, D, Z...
	Start           uint64 // start time in clock ticks since boot: tells a reused pid apart
	Comm            string
}

func (p Proc) String() string { return fmt.Sprintf("pid %d (%s, state %c)", p.PID, p.Comm, p.State) }

// ReadProc reads /proc/<pid>/stat.
func ReadProc(pid int) (Proc, error) {
	b, err := os.ReadFile(procfs.StatPath(pid))
	if err != nil {
		return Proc{}, err
	}
	s, err := procfs.ParseStat(b)
	if err != nil {
		return Proc{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return Proc{PID: pid, PPID: s.PPID, PGrp: s.PGrp, State: s.State, Start: s.StartTime, Comm: s.Comm}, nil
}

// allProcs lists every process; those that vanish while it reads are left
// out.
func allProcs() ([]Proc, error) {
	pids, err := procfs.ListPIDs()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []Proc
	for _, pid := range pids {
		if p, err := ReadProc(pid); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Family returns the model started as leader: the processes in process
// group leader and every descendant of them, wherever their group (a child
// may have moved to a group or session of its own). This, not the leader
// alone, is the model: a `run` script that starts its server without exec
// is a shell whose child listens.
func Family(leader int) ([]Proc, error) {
	all, err := allProcs()
	if err != nil {
		return nil, err
	}
	children := map[int][]Proc{}
	for _, p := range all {
		children[p.PPID] = append(children[p.PPID], p)
	}
	seen := map[int]bool{}
	var out []Proc
	var walk func(int)
	walk = func(parent int) {
		for _, c := range children[parent] {
			if !seen[c.PID] {
				seen[c.PID] = true
				out = append(out, c)
				walk(c.PID)
			}
		}
	}
	for _, p := range all {
		if p.PID == leader || p.PGrp == leader {
			if !seen[p.PID] {
				seen[p.PID] = true
				out = append(out, p)
			}
			walk(p.PID)
		}
	}
	return out, nil
}

// Alive reports whether p still runs: the same pid with the same start
// time, and not a zombie (a zombie has no threads and holds nothing but
// its exit status).
func Alive(p Proc) bool {
	now, err := ReadProc(p.PID)
	return err == nil && now.Start == p.Start && now.State != 'Z'
}

// SocketInodes maps the inode of every socket the given processes hold to
// the process holding it.
func SocketInodes(procs []Proc) map[string]int {
	out := map[string]int{}
	for _, p := range procs {
		dir := fmt.Sprintf("/proc/%d/fd", p.PID)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // gone
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if inode, ok := procfs.SocketInode(link); err == nil && ok {
				out[inode] = p.PID
			}
		}
	}
	return out
}

// TCP states in /proc/net/tcp.
const (
	TCPEstablished = procfs.TCPEstablished
	TCPListen      = procfs.TCPListen
)

// TCPSocket is one line of /proc/net/tcp{,6}: enough to tell which socket
// serves which client.
type TCPSocket = procfs.TCPSocket

// TCPSockets reads the kernel's TCP socket tables, IPv4 and IPv6.
func TCPSockets() ([]TCPSocket, error) {
	var out []TCPSocket
	if err := procfs.ReadTCPTables("/proc/net", func(s TCPSocket) { out = append(out, s) }); err != nil {
		return nil, err
	}
	return out, nil
}

// Listens reports whether a process of leader's family holds a listening
// socket on port.
func Listens(leader int, port uint16) (bool, error) {
	socks, err := TCPSockets()
	if err != nil {
		return false, err
	}
	listen := map[string]bool{}
	for _, s := range socks {
		if s.State == TCPListen && s.LocalPort == port {
			listen[s.Inode] = true
		}
	}
	if len(listen) == 0 {
		return false, nil
	}
	fam, err := Family(leader)
	if err != nil {
		return false, err
	}
	for inode := range SocketInodes(fam) {
		if listen[inode] {
			return true, nil
		}
	}
	return false, nil
}
