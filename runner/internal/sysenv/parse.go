package sysenv

import (
	"fmt"
	"strconv"
	"strings"

	"c10klab/runner/internal/procfs"
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

// parseCgroupLimit reads a cgroup limit file: "max" (v2) or a number of
// bytes or pids. Values at or above 2^62 are v1's way of saying unlimited
// (PAGE_COUNTER_MAX pages: 9223372036854771712 on 4 KiB pages).
func parseCgroupLimit(s string) (limit int64, limited bool, err error) {
	n, isMax, err := procfs.ParseMax([]byte(s))
	if err != nil {
		return 0, false, fmt.Errorf("cgroup limit %q: %w", strings.TrimSpace(s), err)
	}
	if isMax || n >= 1<<62 {
		return 0, false, nil
	}
	return n, true, nil
}
