// Package pin starts processes pinned to a set of CPUs, so the model and the
// swarm do not compete for the same core and the comparison stays fair.
package pin

import (
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// Start starts cmd with its CPU affinity set to cpus (all CPUs when cpus is
// empty). A child inherits the affinity of the thread that forks it, so the
// calling goroutine is locked to its thread, the thread's mask is narrowed
// for the fork and then restored; no other thread of the runner is touched
// and the child runs pinned from its first instruction.
func Start(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("pin: read affinity: %w", err)
	}
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin to CPUs %v: %w", cpus, err)
	}
	startErr := cmd.Start()
	if err := unix.SchedSetaffinity(0, &old); err != nil && startErr == nil {
		return fmt.Errorf("pin: restore affinity: %w", err)
	}
	return startErr
}

// Split divides the CPUs this process may use into one for the model and
// the rest for the swarm. With a single CPU both get it and the caller
// should say that pinning could not separate them.
func Split() (model, swarm []int, err error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, nil, fmt.Errorf("pin: read affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return cpus, cpus, nil
	}
	return cpus[:1], cpus[1:], nil
}
