package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// Stat is what the runner uses of /proc/PID/stat (proc(5)).
type Stat struct {
	PID, PPID, PGrp int
	// Comm is the command name between the parentheses; it may itself
	// hold spaces and parentheses ("x (y) z").
	Comm           string
	State          byte  // R, S, D, Z...
	UTime, STime   int64 // clock ticks of the process's own threads
	CUTime, CSTime int64 // clock ticks of the children it reaped
	Threads        int
	// StartTime is in clock ticks since boot: with the PID it tells a
	// process from a later one that reused the PID.
	StartTime uint64
	RSSPages  int64
}

// statFields is how many fields after the comm ParseStat reads: fields 3
// (state) to 24 (rss), as proc(5) numbers them.
const statFields = 22

// ParseStat parses one /proc/PID/stat line. The comm, field 2, is any
// 16 bytes in parentheses, spaces and parentheses included, so the fields
// are counted from the last ')'. It allocates only the comm.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return s, fmt.Errorf("malformed stat line %.40q", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("stat pid %q: %w", b[:open], err)
	}
	s.PID = pid
	// Index i holds field i+3.
	var f [statFields][]byte
	rest := b[end+1:]
	for i := range f {
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			j = len(rest)
		}
		f[i] = bytes.TrimSpace(rest[:j])
		rest = rest[j:]
	}
	if len(f[0]) != 1 {
		return s, fmt.Errorf("stat of pid %d: state %q", pid, f[0])
	}
	s.State = f[0][0]
	int64s := []struct {
		field int
		dst   *int64
	}{{14, &s.UTime}, {15, &s.STime}, {16, &s.CUTime}, {17, &s.CSTime}, {24, &s.RSSPages}}
	for _, n := range int64s {
		if *n.dst, err = strconv.ParseInt(string(f[n.field-3]), 10, 64); err != nil {
			return s, fmt.Errorf("stat field %d of pid %d: %w", n.field, pid, err)
		}
	}
	ints := []struct {
		field int
		dst   *int
	}{{4, &s.PPID}, {5, &s.PGrp}, {20, &s.Threads}}
	for _, n := range ints {
		if *n.dst, err = strconv.Atoi(string(f[n.field-3])); err != nil {
			return s, fmt.Errorf("stat field %d of pid %d: %w", n.field, pid, err)
		}
	}
	if s.StartTime, err = strconv.ParseUint(string(f[22-3]), 10, 64); err != nil {
		return s, fmt.Errorf("stat field 22 of pid %d: %w", pid, err)
	}
	s.Comm = string(b[open+1 : end])
	return s, nil
}

// StatPath is the stat file of pid.
func StatPath(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/stat" }
