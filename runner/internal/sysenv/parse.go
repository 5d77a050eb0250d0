package sysenv

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// parseInts reads the leading integer fields of s ("4096\t131072\t6291456",
// "32768 60999"). It stops at the first field that is not an integer, so a
// Value carrying a note after its numbers ("575796 pages (2.2 GiB)") still
// parses. It fails when s does not start with an integer.
func parseInts(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Fields(s) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no integer in %q", s)
	}
	return out, nil
}

// parseInt reads the first integer field of s.
func parseInt(s string) (int64, error) {
	v, err := parseInts(s)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// parseMeminfo returns MemTotal and MemAvailable from /proc/meminfo, in
// bytes (the file says "kB" and means KiB).
func parseMeminfo(s string) (total, avail int64, err error) {
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "MemTotal":
			dst, haveTotal = &total, true
		case "MemAvailable":
			dst, haveAvail = &avail, true
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, 0, fmt.Errorf("meminfo %s: no value", key)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("meminfo %s: %w", key, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			n <<= 10
		}
		*dst = n
	}
	if !haveTotal || !haveAvail {
		return 0, 0, fmt.Errorf("meminfo: MemTotal or MemAvailable missing")
	}
	return total, avail, nil
}

// parseCPUList counts the CPUs in a kernel CPU list ("0-3,8,10-11").
func parseCPUList(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return 0, fmt.Errorf("cpu list %q: %w", s, err)
			}
		}
		if b < a {
			return 0, fmt.Errorf("cpu list %q: descending range %s", s, part)
		}
		n += b - a + 1
	}
	return n, nil
}

// parseLoadavgTasks returns the number of tasks (threads of every process)
// from /proc/loadavg ("0.00 0.04 0.02 1/88 8023": 88). Every task holds a
// pid, which is what kernel.pid_max and kernel.threads-max count.
func parseLoadavgTasks(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) < 4 {
		return 0, fmt.Errorf("loadavg %q: want at least 4 fields", s)
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0, fmt.Errorf("loadavg %q: want running/total in field 4", s)
	}
	n, err := strconv.ParseInt(total, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("loadavg %q: %w", s, err)
	}
	return n, nil
}

// cgroupLine is one line of /proc/<pid>/cgroup.
type cgroupLine struct {
	controllers []string // empty for the cgroup v2 line "0::/path"
	path        string
}

// parseProcCgroup reads /proc/<pid>/cgroup ("4:memory:/a/b", "0::/a").
func parseProcCgroup(s string) ([]cgroupLine, error) {
	var out []cgroupLine
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("cgroup line %q: want id:controllers:path", line)
		}
		var ctl []string
		if f[1] != "" {
			ctl = strings.Split(f[1], ",")
		}
		out = append(out, cgroupLine{controllers: ctl, path: f[2]})
	}
	return out, nil
}

// cgroupMount is one cgroup filesystem from /proc/self/mountinfo.
type cgroupMount struct {
	root       string // the cgroup path mounted (usually "/")
	mountPoint string
	v2         bool
	options    []string // v1 super options name the controllers ("rw,memory")
}

// parseMountinfoCgroups returns the cgroup and cgroup2 mounts of
// /proc/self/mountinfo ("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup
// cgroup rw,memory").
func parseMountinfoCgroups(s string) []cgroupMount {
	var out []cgroupMount
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(sf) < 3 {
			continue
		}
		switch sf[0] {
		case "cgroup":
			out = append(out, cgroupMount{root: pf[3], mountPoint: pf[4], options: strings.Split(sf[2], ",")})
		case "cgroup2":
			out = append(out, cgroupMount{root: pf[3], mountPoint: pf[4], v2: true})
		}
	}
	return out
}

// parseCgroupLimit reads a cgroup limit file: "max" (v2) or a number of
// bytes or pids. Values at or above 2^62 are v1's way of saying unlimited
// (PAGE_COUNTER_MAX pages: 9223372036854771712 on 4 KiB pages).
func parseCgroupLimit(s string) (limit int64, limited bool, err error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("cgroup limit %q: %w", s, err)
	}
	if n >= 1<<62 {
		return 0, false, nil
	}
	return n, true, nil
}
