package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// The capacity search. The planned steps (--steps) are where it starts,
// not its resolution: while they hold it climbs, and after the first step
// that fails it probes between the largest count sustained and the
// smallest failed until they are within Resolution of each other, or the
// swarm, the machine or the run's ceiling is named as the limit. Each
// model has a time budget (Options.Budget), checked before each step.
//
// The budget goes where a step decides. What a step cost in run
// 20261203-135643 (before this search): a clean step 4-6 s (a ramp of a
// second or two, a settle of a sample, a hold of 2 s that took 3 in half
// the steps); a step past the model's ceiling 9-16 s (a settle that stops
// gaining, 2-8 s); a probe below a failure 7-15 s (a fresh model and
// swarm, measure.go's restart, and a ramp from nothing); a step the swarm
// could not ramp (96,000 after 48,000) 18-21 s. So the search climbs in
// steps it can afford, on the live model: to the next planned step, or
// sooner to where the CPU the model and the swarm used projects them full
// (climb, project), never less than a resolution up, so that a failure
// there closes the bracket without a probe below it. Below a failure, a
// probe goes where either outcome closes the bracket when there is such
// a count, else where the failed step's evidence or the CPU points
// (probeBetween). A model that failed because it died (exited, or the
// guard stopped it) is not restarted: its search ends there
// (results.SearchEnded), its bracket the counts it held and died at.

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
	// cpus is how many CPUs the model has (its pinning), and machineCPUs
	// how many the machine has, for projecting the capacity from the CPU
	// the model and the whole machine used (project); 0: not known.
	cpus, machineCPUs int
	// left is the model's budget left as the next step would start; 0:
	// no budget. A climb past a resolution up must leave room in it for
	// its failure and a probe (affordsProbe).
	left time.Duration
}

// decision is the search's next move: an offer, or why it stops.
type decision struct {
	next int               // connections to offer next; 0: stop
	end  results.SearchEnd // when stopping
	why  string            // the figures behind end
	// confirm: next measures a failure again before the bracket closes
	// on it (doubtfulFailure); why is then the bracket it would close,
	// which stands when the budget has no room for the step.
	confirm bool
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
			why := fmt.Sprintf("%d sustained, %d failed: within %.0f%%", b.Sustained, b.Failed, 100*lim.resolution)
			if again := doubtfulFailure(steps, b); again > 0 {
				return decision{next: again, why: why, confirm: true}
			}
			return decision{end: results.SearchBracketed, why: why}
		}
		return decision{end: results.SearchSwarm, why: fmt.Sprintf("the swarm could not be trusted at %d offered: %s", up, untrustedAt(steps, up))}
	case up > 0:
		next = probeBetween(steps, b, up, lim)
	default:
		if b.SustainedStep >= 0 {
			if why := machineFull(steps[b.SustainedStep], lim); why != "" {
				return decision{end: results.SearchMachine, why: why}
			}
		}
		next = climb(steps, b, lim)
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

// doubtfulFailure is the failed count to measure once more before the
// bracket closes on it, or 0. A failure is doubtful when the steps after
// it contradict it: it collapsed (served under half the count sustained
// below it) on the way up, and the fresh model then held every count up
// to just under it. py-gevent collapsed at 4,000 (1,764 served, the
// model's CPU 0.22 busy while kernel writeback took the machine) and then
// held 1,800 to 3,740 (run 20261203-163246), where the run before held
// 20,000. Measured again live from the sustained count, the step costs a
// ramp of the difference, a settle and the hold (3-5 s); a failure that
// repeats closes the bracket, a count that holds opens it again.
func doubtfulFailure(steps []results.Step, b analysis.Bracket) int {
	if b.SustainedStep < 0 {
		return 0
	}
	at, n := -1, 0
	for i, st := range steps {
		if st.Offered == b.Failed && st.Hostile == nil {
			at, n = i, n+1
		}
	}
	if n != 1 || at > b.SustainedStep || 2*steps[at].Sustained >= b.Sustained {
		return 0
	}
	return b.Failed
}

// probeBetween is the next probe inside the open bracket (lo, up). A
// probe below a failure runs on a fresh model (restart): about 2 s and a
// ramp from nothing, 7-15 s in all at 20,000-40,000 (run 20261203-135643),
// so it goes where one probe decides the most:
//   - where either outcome closes the bracket, when there is such a count
//     (up within (1+resolution)² of lo): sustained there, the failure above
//     is within the resolution; failed, the count below is;
//   - where the failed step's evidence points (the one at up): it served
//     more than lo on time while more were offered (a cap, a pool, an
//     accept rate): the capacity is there; it served about lo: a cap at
//     lo, so just above it, a resolution's worth, to close the bracket;
//   - where the CPU projects (project): the model's, when the failed step
//     found its CPU full; the model's and the swarm's together against
//     the machine's CPUs, when the swarm could not be trusted above lo or
//     the failed step found them full.
//
// A guess is kept a tenth of the gap inside the bracket, so every probe
// narrows it, and rounded as between rounds; with no guess, the middle.
func probeBetween(steps []results.Step, b analysis.Bracket, up int, lim searchLimits) int {
	lo := b.Sustained
	if lo > 0 {
		from := int(math.Ceil(float64(up) / (1 + lim.resolution)))
		to := int(math.Floor(float64(lo) * (1 + lim.resolution)))
		from, to = max(from, lo+1), min(to, up-1)
		if from <= to {
			return readable(from+(to-from)/2, from, to)
		}
	}
	var failed *results.Step
	for i := range steps {
		if st := &steps[i]; st.Offered == up && !st.OK && analysis.Trusted(*st) {
			failed = st
		}
	}
	guess := 0
	switch {
	case failed != nil && failed.Sustained > lo:
		guess = failed.Sustained
	case failed != nil && lo > 0 && float64(failed.Sustained) >= 0.9*float64(lo):
		// closeAbove, not a ceiling of lo×1.1: 200×1.1 is 220.00000000000003
		// in floating point, and py-forking's probe went to 221, failed,
		// and left 200-221 open, a step short of its bracket (run
		// 20261203-172047).
		guess = closeAbove(lo, lim.resolution)
	case failed == nil:
		guess = project(steps, b, searchLimits{machineCPUs: lim.machineCPUs})
	default:
		useModel := full(failed.Model.CPU(), failed.HoldSeconds, lim.cpus, 0.8)
		useMachine := full(ownCPU(*failed), failed.HoldSeconds, lim.machineCPUs, 0.85)
		onlyThose := searchLimits{}
		if useModel {
			onlyThose.cpus = lim.cpus
		}
		if useMachine {
			onlyThose.machineCPUs = lim.machineCPUs
		}
		guess = project(steps, b, onlyThose)
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

// full reports whether cpu seconds over hold seconds were at least share
// of cpus CPUs.
func full(cpu, hold float64, cpus int, share float64) bool {
	return cpus > 0 && hold > 0 && cpu/hold >= share*float64(cpus)
}

// climb is the next count above the sustained one while nothing above it
// failed: the next planned step (past the plan, twice the count), or less
// where the CPU projects the model's or the machine's CPUs full before it
// (project), but at most twice the count when the projection decides, and
// never less than a resolution above it, so that a failure there closes
// the bracket at once (and there, when the projection is within two
// resolutions: a probe below a failure costs a fresh start). A step up runs on the live
// model from the connections it holds, so it costs only its own ramp, a
// settle and the hold (3-5 s measured), where a step past the ceiling
// costs a collapse (9-16 s: a settle that stops gaining, 5-8 s) and a
// fresh start below it (7-15 s); and a step the swarm cannot ramp (96,000
// with 48,000 held: 18-21 s).
func climb(steps []results.Step, b analysis.Bracket, lim searchLimits) int {
	lo := b.Sustained
	if lo == 0 {
		if len(lim.plan) > 0 {
			return lim.plan[0]
		}
		return 0
	}
	floor := closeAbove(lo, lim.resolution)
	if !affordsProbe(steps, lim) {
		return floor
	}
	// A planned step within a resolution of the count proves nothing the
	// floor does not (c-epoll climbed 45,800 → 48,000 → budget spent,
	// run 20261203-155834): the next one past the floor.
	ceiling := 2 * lo
	if i := slices.IndexFunc(lim.plan, func(n int) bool { return n > floor }); i >= 0 {
		ceiling = lim.plan[skipPlanned(steps[b.SustainedStep], lim.plan, i, lim.cpus)]
	} else if !machineOpen(steps[b.SustainedStep], lim) {
		// Past the plan with the machine busy, the CPU's line is no
		// measure of the room left (the CPU per connection falls as an
		// event loop batches more): epoll held 48,000 with the model and
		// the agents at 1.51 of 2 CPUs, 1.44 at 32,000, which projected
		// 114,000, and the doubling to 95,600 was the swarm's collapse, a
		// ramp of 15 s and a settle of 8 that spent the rest of its budget
		// (run 20261203-214200), as c-epoll's 96,000 after 48,000 was
		// (18-21 s, run 20261203-135643). The climb goes a fifth at most.
		ceiling = max(floor, readable(int(float64(lo)*climbRoomyStep), floor, int(float64(lo)*climbRoomyStep)))
	}
	p := project(steps, b, lim)
	switch {
	case p == 0 || p >= ceiling:
		return ceiling
	case float64(p) < climbFloorBelow*float64(lo):
		// Failed at p, the bracket would need a probe below it, a fresh
		// start; failed at the floor, it is closed, and held there, the
		// next climb costs a step of 3-5 s. But an event loop's CPU is
		// no measure of its room (it batches more events per wakeup as
		// the load grows): gnet used 0.85 of its CPU at 13,700 and 0.92 at
		// 21,800, and held both, climbing there a resolution at a time
		// until its budget was spent (run 20261203-163812). Where the
		// machine has room, the climb goes a fifth up: held, it has
		// saved a step; failed, one probe closes the bracket either way
		// (probeBetween). The collapses past a projection came with the
		// machine nearly full (epoll at 43,200 and 42,500: the model and
		// the agents 1.63 of 2 CPUs at the count below).
		if roomy(steps[b.SustainedStep], lim) {
			fifth := max(floor, min(ceiling, int(float64(lo)*climbRoomyStep)))
			return readable(fifth, floor, fifth)
		}
		return floor
	}
	// The projection errs long at the top: the CPU per echo grows as
	// the machine fills (epoll projected 45,400 from 4,000 and 16,000 and
	// collapsed there, 27,283 sustained, at a cost of 16 s and a fresh
	// probe below: run 20261203-154530), so a climb the projection, not
	// the plan, decides goes at most to twice the count.
	return readable(min(p, 2*lo), floor, min(p, 2*lo))
}

// climbFloorBelow: a projection less than this many times the count
// climbs only a resolution. Near the top the projection errs long by more
// than the resolution's square (1.21): epoll projected 43,200 from 35,200
// (1.23×) and collapsed there, 6,054 sustained (run 20261203-155834),
// where c-epoll's 41,700 from 32,000 (1.30×) held.
const climbFloorBelow = 1.3

// climbRoomy: the model and the swarm together used less than this share
// of the machine's CPUs at the largest held count, so a climb the
// projection holds back goes climbRoomyStep up, just under the
// resolution's square, from where one probe closes the bracket. Of the
// climbs of the four default runs of 20261203 from a held count where the
// model and the agents used 1.5-1.6 of 2 CPUs, 28 held and 5 failed (two
// of them py-tornado with its own CPU at 0.98-0.99); gnet at 1.50 climbed
// 16,000 to 30,500 a tenth or a fifth at a time, 4 s a step, and spent its
// budget with nothing failed (run 20261203-172047). From 1.63 epoll
// collapsed a tenth up (38,700 to 42,500, run 20261203-163812): there
// the climb stays a tenth, where a failure closes the bracket at once.
const (
	climbRoomy     = 0.8
	climbRoomyStep = 1.2
)

// climbOpen: the model and the swarm together used less than this share
// of the machine's CPUs at the largest held count, so a climb past the
// plan may double (climb). epoll at 1.51 of 2 could not.
const climbOpen = 0.7

// machineOpen reports whether the machine was mostly free at st: the model's and
// the agents' CPU over its window under climbOpen of the machine's CPUs,
// or not known.
func machineOpen(st results.Step, lim searchLimits) bool {
	return st.HoldSeconds <= 0 || lim.machineCPUs <= 0 || ownCPU(st)/st.HoldSeconds < climbOpen*float64(lim.machineCPUs)
}

// roomy reports whether the machine had room at st: the model's and the
// agents' CPU over its window under climbRoomy of the machine's CPUs.
func roomy(st results.Step, lim searchLimits) bool {
	return st.HoldSeconds > 0 && lim.machineCPUs > 0 && ownCPU(st)/st.HoldSeconds < climbRoomy*float64(lim.machineCPUs)
}

// skipPlanned is the index of the planned step the climb from st goes to,
// from plan[i], the next one past the resolution: a planned step is
// passed over when the model's CPU per connection at st, every
// connection costing what the average one did (its fixed cost included,
// so the line errs short), reaches projectModel of the model's CPUs no
// sooner than the planned step after it. The plan's small steps are where
// the search starts, to catch a model that fails early and to give the
// projection a line; a model that used 0.04-0.05 of its CPU at 1,000
// (c-epoll, c-pthread, forked, rust-tokio in run 20261203-172047: 4 s
// each for the step at 4,000) shows room past 16,000 from the first step,
// and 1,000 still gives the line from 16,000 its second point.
func skipPlanned(st results.Step, plan []int, i, cpus int) int {
	if cpus <= 0 || st.HoldSeconds <= 0 || st.Offered <= 0 {
		return i
	}
	perConn := st.Model.CPU() / st.HoldSeconds / float64(st.Offered)
	if perConn <= 0 {
		return i
	}
	reach := projectModel * float64(cpus) / perConn
	for i+1 < len(plan) && float64(plan[i+1]) <= reach {
		i++
	}
	return i
}

// affordsProbe reports whether the budget left (lim.left; none: it
// does) pays for a climb past a resolution up that fails and the probe
// below it: the failed step twice what the held steps took (their median;
// a settle that stops gaining), the probe twice that again and a restart
// (it ramps from nothing: 7-15 s at 20,000-40,000 against 4-5 s for a
// step up, run 20261203-135643). Where it does not, the climb goes a
// resolution up, where a failure closes the bracket at once: py-asyncio
// went a fifth up from 27,600 with 11.6 s left, failed at 33,100, and the
// probe below it (10 s) did not fit (run 20261203-183802); netpoll went
// from 23,200 to 41,200, failed, and its probe did not fit (run
// 20261203-172047).
func affordsProbe(steps []results.Step, lim searchLimits) bool {
	if lim.left <= 0 {
		return true
	}
	var took []time.Duration
	for _, st := range steps {
		if st.OK && st.End.After(st.Start) {
			took = append(took, st.End.Sub(st.Start))
		}
	}
	if len(took) == 0 {
		return true
	}
	slices.Sort(took)
	step := took[len(took)/2]
	return lim.left >= 2*step+2*step+restartCost
}

// machineFull is why the machine, not the model, is the limit at st, the
// largest count held while nothing above it failed, or "": the model and
// the swarm's agents together used at least machineFullShare of the
// machine's CPUs over its window while the model's own CPUs were under
// projectModel busy. Past such a count a step measures how the kernel
// shares two full CPUs between the model and its clients. A model whose
// own CPU is full is not excused: its climb goes on to its failure.
func machineFull(st results.Step, lim searchLimits) string {
	if st.HoldSeconds <= 0 || lim.cpus <= 0 || lim.machineCPUs <= 0 {
		return ""
	}
	own, model := ownCPU(st)/st.HoldSeconds, st.Model.CPU()/st.HoldSeconds
	if own < machineFullShare*float64(lim.machineCPUs) || model >= projectModel*float64(lim.cpus) {
		return ""
	}
	return fmt.Sprintf("the model and the swarm's agents used %.2f of the machine's %d CPUs at %d sustained (the model %.2f of its %d, the agents %.2f): a count past it measures how the machine's CPUs are shared, not the model",
		own, lim.machineCPUs, st.Offered, model, lim.cpus, st.AgentsCPU/st.HoldSeconds)
}

// machineFullShare: in the four default runs of 20261203, every climb a
// tenth up from a held count where the model (under 0.9 of its CPU) and
// the agents used 1.85 of 2 CPUs or more failed or was untrusted (c-uring
// at 1.85 and 1.86, epoll at 1.88: 34,800 held, 38,200 collapsed, c-epoll
// at 1.93), where from 1.80-1.84 four of five held (c-epoll 45,800 →
// 50,300, rust-tokio 42,500 → 46,700 twice, c-uring 48,000 → 52,800).
const machineFullShare = 0.925

// closeAbove is the largest readable count a resolution above lo (and
// more than lo): failed there, the bracket is closed.
func closeAbove(lo int, resolution float64) int {
	top := max(lo+1, int(math.Floor(float64(lo)*(1+resolution))))
	return readable(top, lo+1, top)
}

// readable is x to three significant digits (52,800 rather than 52,813),
// kept within [lo, hi] (lo <= hi).
func readable(x, lo, hi int) int {
	unit := 1
	for unit*1000 <= x {
		unit *= 10
	}
	r := int(math.Round(float64(x)/float64(unit))) * unit
	for r > hi && unit > 0 {
		r -= unit
	}
	for r < lo {
		r += unit
	}
	if r < lo || r > hi {
		return min(max(x, lo), hi)
	}
	return r
}

// What the CPU projection aims at: the model's CPUs nine-tenths busy (a
// model held 16,000 at 0.96 of its CPU, py-tornado, and 32,000 at 0.82,
// epoll, but collapsed past them), and the model and the swarm together
// at nine-tenths of the machine's CPUs (c-epoll held 48,000 with the model
// at 0.78 CPU and the agents at 0.99 of 2, the kernel and the rest 0.13;
// at 96,000 the swarm fell behind). The machine's own busy time is no
// measure of that: on a machine shared with other work it read 0.09, 1.91
// and 0.49 of 2 at epoll's steps of 4,000, 16,000 and 17,600 (run
// 20261203-153451), whatever the model did. A step that used less than
// projectFrom of a target says little: the fixed costs dominate (the
// agents took 0.25-0.4 CPU at 1,000 connections and at 4,000 alike).
const (
	projectModel = 0.9
	projectOwn   = 0.9
	projectFrom  = 0.25
)

// ownCPU is the CPU seconds the model and the swarm's agents used over a
// step's hold.
func ownCPU(st results.Step) float64 { return st.Model.CPU() + st.AgentsCPU }

// project is the count at which the CPU the model used, and the model's
// and the swarm's together, extrapolate from the sustained steps' windows
// to their targets on the model's CPUs and the machine's (lim.cpus and
// lim.machineCPUs: 0 leaves one out): the smaller, or 0 when
// neither can be projected. It extrapolates along the line through the
// largest sustained step and the largest one at most two-thirds of it (a
// fixed cost, which the agents have, does not grow with the count), else
// through nothing (every connection costing what the average one did,
// which projects short when there is a fixed cost: a climb errs low, and
// a step up is cheap).
func project(steps []results.Step, b analysis.Bracket, lim searchLimits) int {
	if b.SustainedStep < 0 {
		return 0
	}
	top := steps[b.SustainedStep]
	var ref *results.Step
	for i := range steps {
		st := &steps[i]
		if st.OK && st.Hostile == nil && st.HoldSeconds > 0 && 3*st.Offered <= 2*top.Offered && (ref == nil || st.Offered > ref.Offered) {
			ref = st
		}
	}
	best := 0
	consider := func(n int) {
		if n > 0 && (best == 0 || n < best) {
			best = n
		}
	}
	if lim.cpus > 0 {
		consider(extrapolate(top, ref, func(st results.Step) float64 { return st.Model.CPU() }, projectModel*float64(lim.cpus)))
	}
	if lim.machineCPUs > 0 && ref != nil {
		// Only along a line: the agents' fixed cost (0.3-0.45 CPU at
		// 1,000 connections) projected through nothing put c-epoll's
		// next step at 2,000 (run 20261203-155834).
		consider(extrapolate(top, ref, ownCPU, projectOwn*float64(lim.machineCPUs)))
	}
	return best
}

// extrapolate is the offered count at which busy (CPU seconds over a
// step's hold) reaches target CPUs, from top and, when it lies below and
// used less, ref; 0 when top used too little to say.
func extrapolate(top results.Step, ref *results.Step, busy func(results.Step) float64, target float64) int {
	if top.HoldSeconds <= 0 || top.Offered <= 0 {
		return 0
	}
	y1, n1 := busy(top)/top.HoldSeconds, float64(top.Offered)
	if y1 < projectFrom*target {
		return 0
	}
	slope := y1 / n1
	if ref != nil {
		if y0, n0 := busy(*ref)/ref.HoldSeconds, float64(ref.Offered); y1 > y0 && n1 > n0 {
			slope = (y1 - y0) / (n1 - n0)
		}
	}
	return max(0, int(n1+(target-y1)/slope))
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

// budgetEnd is how a search ends that its budget stopped: when what ended
// the climb was the swarm (the bracket's upper side a step the swarm could
// not be trusted at), the swarm's limit, with that step's figures, not yet
// narrowed to the resolution; else budget spent. So the capacity cell and
// "stopped by" name the same thing (run 20261203-135643 had c-epoll at
// "≥ 48k (budget spent)", stopped by "swarm limit" at 96,000).
func budgetEnd(steps []results.Step, spent string) (end results.SearchEnd, why string) {
	b := analysis.BracketOf(steps, results.StopNotSustained)
	if b.Failed == 0 && b.Untrusted > 0 {
		return results.SearchSwarm, fmt.Sprintf("the swarm could not be trusted at %d offered: %s; narrowing below it stopped: %s",
			b.Untrusted, untrustedAt(steps, b.Untrusted), spent)
	}
	return results.SearchBudget, spent
}

// searchStepTime is what the search expects its next step to take, from
// open to offered connections, for its budget: the ramp, the hold, and
// the settle the last step took (a clean step settles at once or within
// a sample, where stepTime's plan allows the deadline and two seconds),
// each up to the rhythm the step sees the swarm at (checkEvery, else the
// one-second sampling) and the window's two reports; or stepTime's when
// the last step failed or there is none.
func searchStepTime(o Options, steps []results.Step, open, offered int) time.Duration {
	if len(steps) == 0 || !steps[len(steps)-1].OK {
		return stepTime(o, open, offered)
	}
	t := stepTimeOf(o, open, offered)
	seen := checkEvery(o.Interval)
	if seen == 0 {
		seen = time.Second
	}
	ramp := (t.Ramp + 500*time.Millisecond + seen - 1).Truncate(seen)
	settle := time.Duration(steps[len(steps)-1].SettleSeconds*float64(time.Second)) + seen
	return ramp + settle + t.Hold + windowReports
}

// windowReports is what the agents' answers at a window's start and end
// add to a step: a few milliseconds each on this machine, allowed 100.
const windowReports = 100 * time.Millisecond

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
