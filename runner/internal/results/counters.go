package results

// SwarmCounters are the counts a swarm agent keeps about its well-behaved
// connections, spelled once: an agent reports them in its status
// (swarm.Status), the runner sums them over agents into a sample's Swarm,
// and a step's figures are one sample's counters less an earlier one's
// (Sub). Open, Connecting, Sustained, Fresh and Unattempted are levels at
// the moment of reading; the others are cumulative since the agents
// started.
//
// Embedded in Swarm first, so that a sample's JSON keeps its keys and
// their order.
type SwarmCounters struct {
	Open       int `json:"open"`
	Connecting int `json:"connecting"`
	Sustained  int `json:"sustained"`
	// Fresh: open connections not yet due an echo, neither served nor
	// unserved: they have sent nothing, or their first message went out a
	// moment ago (a twentieth of the deadline: swarm's freshDiv). At a
	// message a minute a connection is fresh for up to a minute after it
	// opens.
	Fresh int `json:"fresh,omitempty"`
	// RampPauses: ticks the agents' ramps waited because they were behind
	// on their own sends, cumulative.
	RampPauses int64 `json:"ramp_pauses,omitempty"`
	// Unattempted: connections of the target the agents had not tried to
	// open yet in this ramp (a refused or failed one was tried).
	Unattempted int   `json:"unattempted,omitempty"`
	Sent        int64 `json:"sent"`   // messages sent, cumulative
	Echoed      int64 `json:"echoed"` // messages echoed intact, cumulative
	// Unstamped counts echoes timed when an agent read them, not when
	// they arrived: the kernel gave no plausible receive stamp. Cumulative.
	Unstamped int64 `json:"unstamped,omitempty"`
	// Failures by class (FailKey: "phase:ERRNO", phase one of Phase*),
	// cumulative, blamed on the server side.
	Failures map[string]int64 `json:"failures,omitempty"`
	// ClientFailures are the agents' own resource failures (EMFILE,
	// EADDRNOTAVAIL, ENOBUFS...), cumulative: the swarm, not the model.
	ClientFailures map[string]int64 `json:"client_failures,omitempty"`
}

// Add adds o's counts to c's, levels and cumulative counts alike: the sum
// over agents. c's failure maps are made when nil and o has failures.
func (c *SwarmCounters) Add(o SwarmCounters) {
	c.Open += o.Open
	c.Connecting += o.Connecting
	c.Sustained += o.Sustained
	c.Fresh += o.Fresh
	c.RampPauses += o.RampPauses
	c.Unattempted += o.Unattempted
	c.Sent += o.Sent
	c.Echoed += o.Echoed
	c.Unstamped += o.Unstamped
	c.Failures = AddCounts(c.Failures, o.Failures)
	c.ClientFailures = AddCounts(c.ClientFailures, o.ClientFailures)
}

// Sub is what happened from earlier to c: the cumulative counts' change,
// and the levels as c has them (a level's difference means nothing: the
// connections open at a step's end are its own, not a change). The
// failure maps hold only the classes that changed, and are never nil.
func (c SwarmCounters) Sub(earlier SwarmCounters) SwarmCounters {
	d := c
	d.RampPauses -= earlier.RampPauses
	d.Sent -= earlier.Sent
	d.Echoed -= earlier.Echoed
	d.Unstamped -= earlier.Unstamped
	d.Failures = CounterDeltas(earlier.Failures, c.Failures)
	d.ClientFailures = CounterDeltas(earlier.ClientFailures, c.ClientFailures)
	return d
}

// CounterDeltas returns after−before for every key of after whose value
// changed (a key missing from before counts from 0). Gauges (such as
// Tcp.CurrEstab in System.Counters) are treated the same way on purpose:
// over a step, the change in established connections is the comparable
// figure, and the level itself is in every Sample's System.Counters. A
// negative delta is kept; it can only come from a gauge falling (or
// counters reset by a new network namespace).
func CounterDeltas(before, after map[string]int64) map[string]int64 {
	d := make(map[string]int64)
	for k, a := range after {
		if v := a - before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// AddCounts adds src's counts into dst, making dst when it is nil and src
// has any, and returns dst.
func AddCounts(dst, src map[string]int64) map[string]int64 {
	if dst == nil && len(src) > 0 {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}
