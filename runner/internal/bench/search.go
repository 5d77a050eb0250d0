package bench

import (
	"fmt"
	"math"
	"slices"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// The capacity search. The planned steps (--steps) are where it starts,
// not its resolution: after the first step that fails, it bisects between
// the largest count sustained and the smallest failed until they are
// within Resolution of each other; while the steps hold, it goes on up the
// plan, then doubles, until the model fails, the swarm can no longer be
// trusted, or a limit of the machine or the run is reached. Each model has
// a time budget (Options.Budget), checked before each step.
//
// A probe below a failed count is run on the live model: the swarm lowers
// its target, which closes its highest connections at once (swarm's
// agent.setTarget) and reopens any that failed below the new target, and
// the settle then waits, bounded, until every open connection is served
// on time before the window judges the probe. Restarting the model and the
// swarm and ramping straight to the probe's count measures a fresh model,
// as a user deploys it, but costs the model's start and readiness, the
// agents' start and a ramp from nothing at --rate (a 40,000 probe: 4 s of
// ramp alone, against none to lower live), several times per model: past
// the 15 minutes make bench has. A model that failed because it died
// (exited, or the guard stopped it) cannot be lowered, and its search ends
// there (results.SearchEnded), its bracket the counts it held and died at.

// Resolution is the search's default: the bracket is closed once the gap
// between the sustained and the failed count is at most a tenth of the
// sustained count.
const Resolution = 0.10

// searchLimits bound a search: the plan it starts from, its resolution, the
// most the run may offer, and what the machine allows by the steps so far.
type searchLimits struct {
	plan       []int
	resolution float64
	// top is the most connections the run offers: the model's instances
	// and the swarm's agents are sized for it before the first step.
	top    int
	topEnd results.SearchEnd // SearchCeiling or SearchMachine
	topWhy string            // and its figures
	// capacity is what the machine's limits (the guard's tasks, memory)
	// allow, estimated from the steps so far; 0 when none is known.
	capacity int
	capWhy   string
	// cpus is how many CPUs the model has (its pinning), for projecting
	// its capacity from the CPU it used; 0: not known.
	cpus int
}

// decision is the search's next move: an offer, or why it stops.
type decision struct {
	next int               // connections to offer next; 0: stop
	end  results.SearchEnd // when stopping
	why  string            // the figures behind end
}

// nextOffer decides, from the judged steps so far alone, the next count
// to offer or why the search stops.
func nextOffer(steps []results.Step, lim searchLimits) decision {
	b := analysis.BracketOf(steps, results.StopNotSustained)
	up := b.Upper()
	var next int
	switch {
	case up > 0 && b.Closed(lim.resolution):
		if up == b.Failed {
			return decision{end: results.SearchBracketed, why: fmt.Sprintf("%d sustained, %d failed: within %.0f%%", b.Sustained, b.Failed, 100*lim.resolution)}
		}
		return decision{end: results.SearchSwarm, why: fmt.Sprintf("the swarm could not be trusted at %d offered: %s", up, untrustedAt(steps, up))}
	case up > 0:
		next = probeBetween(steps, b, up, lim)
	default:
		next = 2 * b.Sustained
		if i := slices.IndexFunc(lim.plan, func(n int) bool { return n > b.Sustained }); i >= 0 {
			next = lim.plan[i]
		}
	}
	if lim.top > 0 && next > lim.top {
		if lim.top <= b.Sustained {
			return decision{end: lim.topEnd, why: lim.topWhy}
		}
		next = lim.top
	}
	if lim.capacity > 0 && next > lim.capacity {
		if float64(lim.capacity) <= (1+lim.resolution)*float64(b.Sustained) {
			return decision{end: results.SearchMachine, why: lim.capWhy}
		}
		next = lim.capacity
	}
	if slices.ContainsFunc(steps, func(st results.Step) bool { return st.Offered == next && st.Hostile == nil }) {
		// A step at this count gave neither verdict (cut short without a
		// cause the analysis can blame): offering it again would loop.
		return decision{end: results.SearchEnded, why: fmt.Sprintf("the step at %d offered was neither sustained nor failed", next)}
	}
	return decision{next: next}
}

// probeBetween is the next probe inside the open bracket (lo, up): where
// the evidence points, else the middle. Halving a 16,000-48,000 bracket to
// 10% takes four probes, each a fresh start and a ramp (about 10 s at
// 40,000): past a model's budget. The evidence is the failed step's (the
// one at up):
//   - it served more than lo on time while more were offered (a cap, a
//     pool, an accept rate): the capacity is there;
//   - it served about lo: a cap at lo, so the probe goes just above it, a
//     resolution's worth, to close the bracket;
//   - it collapsed with the model's CPU full: the CPU the model used at its
//     largest held count, projected to 90% of its CPUs.
//
// A guess is kept a tenth of the gap inside the bracket, so every probe
// narrows it, and rounded as between rounds.
func probeBetween(steps []results.Step, b analysis.Bracket, up int, lim searchLimits) int {
	lo := b.Sustained
	var failed *results.Step
	for i := range steps {
		if st := &steps[i]; st.Offered == up && !st.OK && analysis.Trusted(*st) {
			failed = st
		}
	}
	guess := 0
	switch {
	case failed == nil:
	case failed.Sustained > lo:
		guess = failed.Sustained
	case lo > 0 && float64(failed.Sustained) >= 0.9*float64(lo):
		guess = int(math.Ceil(float64(lo) * (1 + lim.resolution)))
	case b.SustainedStep >= 0 && lim.cpus > 0 && failed.HoldSeconds > 0 &&
		failed.Model.CPU()/failed.HoldSeconds >= 0.8*float64(lim.cpus):
		st := steps[b.SustainedStep]
		if busy := st.Model.CPU() / st.HoldSeconds; st.HoldSeconds > 0 && busy > 0.05 {
			guess = int(float64(st.Sustained) * 0.9 * float64(lim.cpus) / busy)
		}
	}
	margin := (up - lo) / 10
	if guess == 0 || margin < 1 {
		return between(lo, up)
	}
	guess = min(max(guess, lo+margin), up-margin)
	unit := 1
	for unit*100 <= up-lo {
		unit *= 10
	}
	if r := int(math.Round(float64(guess)/float64(unit))) * unit; r > lo && r < up {
		return r
	}
	return guess
}

// between is a count strictly between lo and hi (hi > lo+1), near their
// middle and round enough to read: the midpoint rounded to a unit of a
// tenth of the gap's order of magnitude, which moves it by at most a
// twentieth of the gap.
func between(lo, hi int) int {
	mid := lo + (hi-lo)/2
	gap := hi - lo
	unit := 1
	for unit*100 <= gap {
		unit *= 10
	}
	r := int(math.Round(float64(mid)/float64(unit))) * unit
	if r <= lo || r >= hi {
		return mid
	}
	return r
}

// untrustedAt is why the step at offered measured the swarm.
func untrustedAt(steps []results.Step, offered int) string {
	for _, st := range steps {
		if st.Offered == offered && !analysis.Trusted(st) {
			return st.Untrusted
		}
	}
	return "untrusted"
}

// machineCapacity estimates, from a sustained step, how many connections
// the machine's limits allow the model: its tasks per connection against
// the guard's task limit (a thread or a process per connection meets it
// first), and its memory per connection (user and kernel) against what is
// available above the memory guard's floor. 0 when no limit is in sight.
// idle is the model's processes before any load.
func machineCapacity(st results.Step, idle results.Proc, tasksLimit, memFree int64) (int, string) {
	if st.Sustained <= 0 {
		return 0, ""
	}
	n := float64(st.Sustained)
	best, why := 0, ""
	consider := func(c int, w string) {
		if c > 0 && (best == 0 || c < best) {
			best, why = c, w
		}
	}
	// A task per connection or more is a thread- or process-per-connection
	// model; an event loop's few threads set no limit here.
	if perConn := float64(st.Model.Threads-idle.Threads) / n; tasksLimit > 0 && perConn >= 0.5 {
		c := int(float64(tasksLimit-int64(idle.Threads)) / perConn)
		consider(c, fmt.Sprintf("the guard's task limit: %d tasks at %.2f a connection (%d at %d sustained) allow about %d connections",
			tasksLimit, perConn, st.Model.Threads, st.Sustained, c))
	}
	if perConn := float64(st.UserMem+st.KernelMem) / n; memFree > 0 && perConn > 0 {
		c := st.Sustained + int(float64(memFree)/perConn)
		consider(c, fmt.Sprintf("memory: %s a connection (user and kernel, at %d sustained) and %s available above the guard's floor allow about %d connections",
			units.Bytes(perConn), st.Sustained, units.Bytes(float64(memFree)), c))
	}
	return best, why
}
