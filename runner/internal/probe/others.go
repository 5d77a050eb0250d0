package probe

import (
	"cmp"
	"fmt"
	"slices"

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
}

type procTime struct {
	comm  string
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
	c := CPUByProcess{hz: clockTicks(), procs: make(map[int]procTime, len(pids))}
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
		c.procs[pid] = procTime{comm: s.Comm, ticks: s.UTime + s.STime}
	}
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
		if before.comm != p.comm || before.ticks > p.ticks {
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
