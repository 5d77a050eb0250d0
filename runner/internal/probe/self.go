package probe

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SelfCPU is the CPU seconds, user and system, the calling process has
// used so far, all its threads, ended ones included (getrusage
// RUSAGE_SELF): one system call, so the runner can put its own cost in
// every sample.
func SelfCPU() (float64, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("probe: getrusage: %w", err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9, nil
}
