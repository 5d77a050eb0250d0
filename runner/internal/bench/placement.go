package bench

import (
	"net/netip"

	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/swarm"
)

// Placement is where a run's agents go: on this host (the zero value), in
// the client hosts of test namespaces, over ssh, or dialling in.
type Placement struct {
	// Hosts are the test hosts the run executes in (netns.Inside): the
	// model runs in the server host with the runner, one agent or more
	// in each client host.
	Hosts *netns.Hosts
	// SSH hosts each run agents, dealt out in turn with the others.
	SSH []swarm.SSH
	// Control takes Dialers agents that dial the runner.
	Control *swarm.Control
	Dialers int
}

// Local reports whether every agent runs on this host, by a plain pipe.
func (p Placement) Local() bool {
	return p.Hosts == nil && len(p.SSH) == 0 && p.Dialers == 0
}

// Launchers returns one launcher per slot that agent i takes as
// Launchers[i%len] (swarm.Config.Launchers); nil for the local default.
func (p Placement) Launchers(exe string, cpus []int) []swarm.Launcher {
	var ls []swarm.Launcher
	if p.Hosts != nil {
		for _, c := range p.Hosts.Clients {
			ls = append(ls, swarm.Pipe{Exe: exe, CPUs: cpus, Wrap: c.Wrap, Src: c.Addr, SrcCount: len(c.Srcs)})
		}
	}
	for _, s := range p.SSH {
		ls = append(ls, s)
	}
	for range p.Dialers {
		ls = append(ls, p.Control)
	}
	return ls
}

// Agents is how many agents to start: at least need (what the
// connections require of one process each), at least one per launcher, and
// a whole number of rounds over the launchers so each gets the same share.
// Agents that dial in are as many as were asked for, no more: nothing
// starts them but the user.
func (p Placement) Agents(need int) int {
	ls := p.Launchers("", nil)
	if len(ls) == 0 {
		return max(1, need)
	}
	if p.Dialers > 0 {
		return len(ls)
	}
	rounds := max(1, (need+len(ls)-1)/len(ls))
	return rounds * len(ls)
}

// AllowsAddr reports whether the model may listen at a: loopback, or the
// server host of the run's own test namespaces. Other addresses are for
// agents on other hosts, which need a real network and the user's word
// (docs/scale-out.md).
func (p Placement) AllowsAddr(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	if p.Hosts != nil {
		return a == p.Hosts.Server.Addr
	}
	// Agents on other hosts (--ssh-hosts, --dial-agents) are the user's
	// word that the network between them is theirs to load.
	return len(p.SSH) > 0 || p.Dialers > 0
}
