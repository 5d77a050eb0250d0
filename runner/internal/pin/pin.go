// Package pin starts processes pinned to a set of CPUs, so that every model
// is measured on the same CPU budget.
package pin

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"

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

// Split chooses the CPUs of a run: the model gets the first CPU this process
// may use; the swarm may use all of them, the model's included, when
// shareModelCPU says the model runs as one scheduling entity (its own cpu
// cgroup), else the others. With a single CPU both get it and the caller
// should say that pinning could not separate them.
//
// The swarm is not confined to the CPUs the model does not use because on a
// 2-CPU machine that leaves it one CPU, shared by its three agents, by the
// softirq work that delivers their packets to the model, and by whatever else
// the machine runs; that CPU's queueing was then measured as the model's
// latency. epoll at 40,000 connections, model on CPU 0: p99 22-42 ms over 5
// runs with the swarm on CPU 1 alone, 1.2-3.9 ms in 6 of 7 runs with the
// swarm free to use both. The model's CPU time is counted per process either
// way, and a run marks a step untrusted when the swarm saturates its share.
// Sharing needs the model to be one scheduling entity: otherwise an agent on
// its CPU competes with each of the model's processes or threads and can be
// starved (seen with the forked model: an agent 1.3 s behind its schedule).
func Split(shareModelCPU bool) (model, swarm []int, err error) {
	cpus, err := Allowed()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(cpus) < 2:
		return cpus, cpus, nil
	case shareModelCPU:
		return cpus[:1], cpus, nil
	}
	return cpus[:1], cpus[1:], nil
}

// Allowed lists the CPUs this process may run on.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin: read affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// Avoid moves every thread of this process off cpus, so that the runner's
// own work (sampling a model of 20,000 processes costs it more than half
// a CPU) is not done on the model's CPUs and measured as the model's
// latency. Threads created later inherit the mask of the thread that
// creates them. restore puts every thread back on the CPUs it had. With
// no CPU left outside cpus it does nothing.
func Avoid(cpus []int) (restore func() error, err error) {
	allowed, err := Allowed()
	if err != nil {
		return nil, err
	}
	var rest, old unix.CPUSet
	for _, c := range allowed {
		old.Set(c)
		if !slices.Contains(cpus, c) {
			rest.Set(c)
		}
	}
	none := func() error { return nil }
	if rest.Count() == 0 || len(cpus) == 0 {
		return none, nil
	}
	// Twice: a thread the runtime starts during the first pass may have
	// inherited the old mask.
	if err := cmp.Or(setAll(&rest), setAll(&rest)); err != nil {
		setAll(&old)
		return nil, fmt.Errorf("pin: keep the runner off CPUs %v: %w", cpus, err)
	}
	return func() error { return setAll(&old) }, nil
}

// setAll sets the affinity of every thread of this process.
func setAll(set *unix.CPUSet) error {
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tids {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}
