package guard

import (
	"fmt"

	"c10klab/runner/internal/procfs"
)

// Watchdog guards the machine where cgroups cannot (not root, no cgroup
// v1): it says when MemAvailable falls below a floor, so the runner stops
// the model before the kernel's OOM killer picks a victim, which could be
// anything on the machine.
type Watchdog struct {
	Floor    int64 // bytes of MemAvailable below which Check reports Low
	MemTotal int64
}

// NewWatchdog returns a Watchdog with floor bytes; 0 means the default,
// 10% of MemTotal and at least 1 GiB.
func NewWatchdog(floor int64) (*Watchdog, error) {
	m, err := procfs.ReadMeminfo()
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	total := m["MemTotal"]
	if floor == 0 {
		floor = max(total/10, gib)
	}
	if floor < 0 {
		return nil, fmt.Errorf("guard: negative memory floor %d", floor)
	}
	return &Watchdog{Floor: floor, MemTotal: total}, nil
}

// MemStatus is one reading of the Watchdog.
type MemStatus struct {
	Available int64
	Floor     int64
}

// Low reports whether available memory is below the floor.
func (s MemStatus) Low() bool { return s.Available < s.Floor }

func (s MemStatus) String() string {
	verdict := "above"
	if s.Low() {
		verdict = "below"
	}
	return fmt.Sprintf("MemAvailable %d MiB, %s the floor of %d MiB", s.Available>>20, verdict, s.Floor>>20)
}

// Check reads MemAvailable.
func (w *Watchdog) Check() (MemStatus, error) {
	m, err := procfs.ReadMeminfo()
	if err != nil {
		return MemStatus{}, fmt.Errorf("guard: %w", err)
	}
	return MemStatus{Available: m["MemAvailable"], Floor: w.Floor}, nil
}
