package probe

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"c10klab/runner/internal/procfs"
	"c10klab/runner/internal/results"
)

// CPUByProcess is every process's CPU time at one moment: two of them
// name what else ran on the machine between them (Busiest). It is taken
// at a window's start and end, not each second: a scan reads one stat file
// per process on the machine.
type CPUByProcess struct {
	hz    float64
	procs map[int]procTime
	// Start and At are when the scan began and ended: the CPU between two
	// scans was spent within the first's Start and the second's At, which
	// may be longer than the window they bound (a scan under load, a
	// step's end read late).
	Start, At time.Time
}

type procTime struct {
	comm string
	// start tells a process from a later one that reused its PID; the
	// comm does not (a kworker renames itself for each work item it runs:
	// "kworker/0:2-events", then "-mm_percpu_wq"), and counting a renamed
	// kworker as new counted its whole life in the window.
	start uint64
	ticks int64 // utime+stime: the process's own threads, not reaped children
}

// SnapshotCPU reads every process's CPU time now, but those skip says
// are accounted for elsewhere (nil: none): a fork-per-connection model's
// 20,000 processes are the model's, and reading their stat files at each
// window's ends cost the runner ~0.3 s of CPU each time.
func SnapshotCPU(skip func(pid int) bool) (CPUByProcess, error) {
	pids, err := procfs.ListPIDs()
	if err != nil {
		return CPUByProcess{}, fmt.Errorf("probe: %w", err)
	}
	c := CPUByProcess{hz: clockTicks(), procs: make(map[int]procTime, len(pids)), Start: time.Now()}
	buf := make([]byte, 1024)
	for _, pid := range pids {
		if skip != nil && skip(pid) {
			continue
		}
		b, err := procfs.ReadFile(procfs.StatPath(pid), buf)
		buf = b[:cap(b)]
		if err != nil {
			continue // gone, or not ours to read
		}
		s, err := procfs.ParseStat(b)
		if err != nil {
			return CPUByProcess{}, fmt.Errorf("probe: %w", err)
		}
		c.procs[pid] = procTime{comm: s.Comm, start: s.StartTime, ticks: s.UTime + s.STime}
	}
	c.At = time.Now()
	return c, nil
}

// Busiest returns the processes that used the most CPU from a to b, most
// first: at most n, each at least minSeconds, leaving out those skip
// says are accounted for elsewhere (the model's, the agents'). A process
// that started after a counts from 0; one that ended before b is not seen.
func Busiest(a, b CPUByProcess, skip func(pid int) bool, minSeconds float64, n int) []results.ProcCPU {
	var out []results.ProcCPU
	for pid, p := range b.procs {
		if skip != nil && skip(pid) {
			continue
		}
		before := a.procs[pid]
		if before.start != p.start || before.ticks > p.ticks {
			before = procTime{} // the PID was reused, or it is new
		}
		if sec := float64(p.ticks-before.ticks) / b.hz; sec >= minSeconds {
			out = append(out, results.ProcCPU{PID: pid, Comm: p.comm, CPU: sec})
		}
	}
	slices.SortFunc(out, func(x, y results.ProcCPU) int {
		return cmp.Or(cmp.Compare(y.CPU, x.CPU), cmp.Compare(x.PID, y.PID))
	})
	return out[:min(n, len(out))]
}
