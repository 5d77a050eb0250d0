package conformance

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// proc is one process as /proc/<pid>/stat describes it.
type proc struct {
	pid, ppid, pgrp int
	state           byte   // R, S, D, Z...
	start           uint64 // start time in clock ticks since boot: tells a reused pid apart
	comm            string
}

func (p proc) String() string { return fmt.Sprintf("pid %d (%s, state %c)", p.pid, p.comm, p.state) }

func readProc(pid int) (proc, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, err
	}
	// comm may hold spaces and parentheses: it ends at the last ')'.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, s)
	}
	f := strings.Fields(s[end+1:])
	// state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime priority nice num_threads
	// itrealvalue starttime
	if len(f) < 20 {
		return proc{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	p := proc{pid: pid, state: f[0][0], comm: s[open+1 : end]}
	if p.ppid, err = strconv.Atoi(f[1]); err != nil {
		return proc{}, err
	}
	if p.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return proc{}, err
	}
	if p.start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return proc{}, err
	}
	return p, nil
}

// allProcs lists every process; those that vanish while it reads are left
// out.
func allProcs() ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// family returns the processes in process group pgid and every descendant
// of pid (pgid's leader), wherever their group: a child may have moved to
// a group or session of its own.
func family(pid int) ([]proc, error) {
	all, err := allProcs()
	if err != nil {
		return nil, err
	}
	children := map[int][]proc{}
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p)
	}
	seen := map[int]bool{}
	var out []proc
	var walk func(int)
	walk = func(parent int) {
		for _, c := range children[parent] {
			if !seen[c.pid] {
				seen[c.pid] = true
				out = append(out, c)
				walk(c.pid)
			}
		}
	}
	for _, p := range all {
		if p.pid == pid || p.pgrp == pid {
			if !seen[p.pid] {
				seen[p.pid] = true
				out = append(out, p)
			}
			walk(p.pid)
		}
	}
	return out, nil
}

// alive reports whether p still runs: the same pid with the same start
// time, and not a zombie (a zombie has no threads and holds nothing but
// its exit status).
func alive(p proc) bool {
	now, err := readProc(p.pid)
	return err == nil && now.start == p.start && now.state != 'Z'
}

// socketInodes maps the inode of every socket the given processes hold to
// the process holding it.
func socketInodes(procs []proc) map[string]int {
	out := map[string]int{}
	for _, p := range procs {
		dir := fmt.Sprintf("/proc/%d/fd", p.pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // gone
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err == nil && strings.HasPrefix(link, "socket:[") {
				out[link[len("socket:["):len(link)-1]] = p.pid
			}
		}
	}
	return out
}

// TCP states in /proc/net/tcp.
const (
	tcpEstablished = 0x01
	tcpListen      = 0x0A
)

// tcpSock is one line of /proc/net/tcp{,6}: enough to tell which socket
// serves which client.
type tcpSock struct {
	localPort, remotePort uint16
	state                 int
	inode                 string
}

func tcpSockets() ([]tcpSock, error) {
	var out []tcpSock
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read socket table: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			lp, err1 := hexPort(fs[1])
			rp, err2 := hexPort(fs[2])
			st, err3 := strconv.ParseInt(fs[3], 16, 32)
			if err1 != nil || err2 != nil || err3 != nil {
				continue
			}
			out = append(out, tcpSock{localPort: lp, remotePort: rp, state: int(st), inode: fs[9]})
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return out, nil
}

// hexPort takes the port of an "ADDR:PORT" field of /proc/net/tcp.
func hexPort(field string) (uint16, error) {
	_, port, ok := strings.Cut(field, ":")
	if !ok {
		return 0, fmt.Errorf("no port in %q", field)
	}
	n, err := strconv.ParseUint(port, 16, 16)
	return uint16(n), err
}

// groupListens reports whether a process of pid's family holds a listening
// socket on port.
func groupListens(pid int, port uint16) (bool, error) {
	socks, err := tcpSockets()
	if err != nil {
		return false, err
	}
	listen := map[string]bool{}
	for _, s := range socks {
		if s.state == tcpListen && s.localPort == port {
			listen[s.inode] = true
		}
	}
	if len(listen) == 0 {
		return false, nil
	}
	fam, err := family(pid)
	if err != nil {
		return false, err
	}
	for inode := range socketInodes(fam) {
		if listen[inode] {
			return true, nil
		}
	}
	return false, nil
}
