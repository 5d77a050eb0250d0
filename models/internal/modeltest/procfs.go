package modeltest

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"c10klab/runner/conformance"
)

// ListenBacklog reads the backlog of the one listening socket on addr.
func ListenBacklog(t *testing.T, addr netip.AddrPort) int {
	t.Helper()
	got, err := conformance.ListenBacklogs(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("listeners on %s have backlogs %v, want one listener", addr, got)
	}
	return got[0]
}

// TasksOfUID counts the threads of every process whose real uid is uid,
// the count RLIMIT_NPROC is checked against.
func TasksOfUID(uid int) int {
	ents, _ := os.ReadDir("/proc")
	total := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if real, err := StatusField(pid, "Uid"); err == nil && real == uid {
			if n, err := StatusField(pid, "Threads"); err == nil {
				total += n
			}
		}
	}
	return total
}

// ChildCost is what a process-per-connection model's children cost, in
// kB (private, PSS and page tables summed over the children).
type ChildCost struct {
	Kids, Tasks       int
	Private, PSS, PTE float64
	ParentPSS         int
}

// CostOf measures the children of pid from their smaps_rollup and status.
func CostOf(t *testing.T, pid int) ChildCost {
	t.Helper()
	kids := ChildrenOf(pid)
	c := ChildCost{Kids: len(kids)}
	for _, k := range kids {
		roll, err := SmapsRollup(k)
		if err != nil {
			t.Fatal(err)
		}
		c.Private += float64(roll["Private_Clean"] + roll["Private_Dirty"])
		c.PSS += float64(roll["Pss"])
		v, err := StatusField(k, "VmPTE")
		if err != nil {
			t.Fatal(err)
		}
		c.PTE += float64(v)
		th, err := StatusField(k, "Threads")
		if err != nil {
			t.Fatal(err)
		}
		c.Tasks += th
	}
	parent, err := SmapsRollup(pid)
	if err != nil {
		t.Fatal(err)
	}
	c.ParentPSS = parent["Pss"]
	return c
}

// Meminfo reads /proc/meminfo in kB.
func Meminfo(t *testing.T) map[string]int {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	return kbFields(string(b), 2)
}

// SmapsRollup returns /proc/pid/smaps_rollup's fields in kB.
func SmapsRollup(pid int) (map[string]int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return nil, err
	}
	return kbFields(string(b), 3), nil
}

// kbFields parses "Name: value [kB]" lines; with want 3, only lines that
// end in kB.
func kbFields(text string, want int) map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || want == 3 && (len(f) != 3 || f[2] != "kB") {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		m[strings.TrimSuffix(f[0], ":")] = n
	}
	return m
}
