package bench

import (
	"slices"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/sysenv"
)

// Preflight names the limits of env that will cap a run to target
// connections, with the command that raises each. The runner cannot know
// which models hold a thread or a process per connection, so the limits
// that cap only those are named as such. perProcess 0 means the open-files
// soft limit minus fdMargin.
func Preflight(env results.Environment, target, procs, backlog, perProcess int) []string {
	if perProcess <= 0 {
		var lim unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
			perProcess = int(lim.Cur) - fdMargin
		}
		perProcess = max(perProcess, 1)
	}
	if procs <= 0 {
		procs = max(1, ceilDiv(target, perProcess))
	}
	agents := max(1, ceilDiv(target, perProcess))
	plan := sysenv.Plan{
		Target: target, Instances: procs, Agents: agents, ConnsPerAgent: ceilDiv(target, agents),
		Backlog: backlog, SourceAddrs: max(1, ceilDiv(target, connsPerSourceAddr)), RaisesNoFile: true,
	}
	all := sysenv.Messages(sysenv.Preflight(env, plan))
	plan.ThreadsPerConn = true
	for _, m := range sysenv.Messages(sysenv.Preflight(env, plan)) {
		if !slices.Contains(all, m) {
			all = append(all, "thread- or process-per-connection models: "+m)
		}
	}
	return all
}

// DefaultModelBacklog is the backlog a model listens with when the run sets
// none (modelkit.DefaultBacklog, documented in models/README.md).
const DefaultModelBacklog = 4096

// connsPerSourceAddr mirrors the swarm's spreading of connections over
// source addresses (swarm agent: 1000 per address).
const connsPerSourceAddr = 1000
