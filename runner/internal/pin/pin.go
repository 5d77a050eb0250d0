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
// empty), at the default priority however the runner is favoured (Favor).
// A child inherits the affinity and the nice value of the thread that
// forks it, so the calling goroutine is locked to its thread, the
// thread's mask and nice value are set for the fork and then restored; no
// other thread of the runner is touched and the child runs pinned, at nice
// 0, from its first instruction.
func Start(cmd *exec.Cmd, cpus []int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	nice, err := threadNice()
	if err != nil {
		return err
	}
	if nice < 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 0); err != nil {
			return fmt.Errorf("pin: start at nice 0: %w", err)
		}
		defer unix.Setpriority(unix.PRIO_PROCESS, 0, nice)
	}
	if len(cpus) == 0 {
		return cmd.Start()
	}
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
	return eachThread(func(tid int) error { return unix.SchedSetaffinity(tid, set) })
}

// Favor gives every thread of this process the nice value nice, a
// negative one (favoured), so that the runner's once-a-second sample is not queued
// behind the load it measures. With 101 agents busy on the runner's CPU at
// 1.0-1.3 million connections (run 20261203-192927), each at the default
// weight as the runner is, a sample took 0.6-1.6 s of wall time for 0.05
// s of the runner's CPU, and the samples came 2-6 s apart. Threads created
// later inherit it from the thread that creates them; Start starts the
// children at nice 0, the default, so that every model and agent runs at
// the same priority however the runner was started. restore puts every thread back at the nice value it
// had. Without the privilege to lower a nice value it fails, and the
// runner goes on as it was.
func Favor(nice int) (restore func() error, err error) {
	old, err := threadNice()
	if err != nil {
		return nil, err
	}
	if nice >= 0 {
		return nil, fmt.Errorf("pin: favour the runner at nice %d: not a favour", nice)
	}
	if nice >= old {
		return func() error { return nil }, nil
	}
	// Twice: a thread the runtime starts during the first pass may have
	// inherited the old value.
	if err := cmp.Or(niceAll(nice), niceAll(nice)); err != nil {
		niceAll(old)
		return nil, fmt.Errorf("pin: favour the runner at nice %d: %w", nice, err)
	}
	return func() error { return niceAll(old) }, nil
}

// threadNice is the calling thread's nice value (Linux keeps one per
// thread). The raw getpriority returns 20 − nice, so that it is never
// negative.
func threadNice() (int, error) {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return 0, fmt.Errorf("pin: read nice value: %w", err)
	}
	return 20 - p, nil
}

// niceAll sets the nice value of every thread of this process.
func niceAll(nice int) error {
	return eachThread(func(tid int) error { return unix.Setpriority(unix.PRIO_PROCESS, tid, nice) })
}

// eachThread calls set for every thread of this process, passing over
// threads that ended meanwhile.
func eachThread(set func(tid int) error) error {
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tids {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := set(tid); err != nil && err != unix.ESRCH {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}
