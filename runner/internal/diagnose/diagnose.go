// Package diagnose explains, in one sentence backed by figures, what
// stopped a model: the side in words (server, clients, swarm, machine
// limit, runner), the mechanism, at how many connections, and the evidence
// for it. It works from what was recorded (steps, samples, the model's own
// reports, the exit and the guard's counters), so it explains a model it
// knows nothing about, and a saved run can be explained again. The cause
// comes as a results.Cause; the sentence is its rendering.
package diagnose

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"c10klab/contract"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Input is what a model's run recorded, with its steps already judged.
type Input struct {
	Model      string
	Instances  int
	Steps      []results.Step
	Samples    []results.Sample
	Reports    []results.ServerReport // up to the teardown
	Events     []results.Event
	Stop       string // results.Stop*
	StopDetail string
	Exit       *results.Exit  // the model's own exit, if it exited
	Guard      *results.Event // the guard's trip, if it tripped
	Config     results.Config
	Env        results.Environment
	Capacity   int // the capacity the analysis found
	// Work is the C10K_WORK each message cost the model (bench --work),
	// "" for the plain echo.
	Work string
	// Search and SearchDetail are how the capacity search ended
	// (results.Search*) and its figures; "" when it did not run.
	Search, SearchDetail string
}

// Result is the diagnosis.
type Result struct {
	Cause    results.Cause
	Sentence string
	Warnings []string
}

// Diagnose explains what stopped the model in in.
func Diagnose(in Input) Result {
	first := firstFailing(in)
	at := in.Capacity
	switch in.Stop {
	case results.StopError:
		return say(results.Cause{Side: results.SideServer, Mechanism: results.MechNotMeasurable},
			"%s could not be measured: %s", in.Model, in.StopDetail)
	case results.StopRefused:
		return say(results.Cause{Side: results.SideServer, Mechanism: results.MechRefused}, "%s: %s", in.Model, in.StopDetail)
	case results.StopResults:
		return say(results.Cause{Side: results.SideRunner, Mechanism: results.MechDiskFull, At: at},
			"runner: the results could no longer be written (%s), so measuring %s stopped at %s connections sustained; not a finding about the model", in.StopDetail, in.Model, n(at))
	case results.StopInterrupted:
		c := results.Cause{Side: results.SideRunner, Mechanism: results.MechInterrupted, At: at}
		s := fmt.Sprintf("interrupted by the user after %s connections were sustained", n(at))
		if cut := lastStep(in.Steps); cut != nil && cut.Cut {
			s += fmt.Sprintf(", during step %d (%s offered); that step is not counted against the model", cut.Index, n(cut.Offered))
		}
		return say(c, "%s", s)
	case results.StopSwarm:
		return swarmLimit(in, at)
	case results.StopExited:
		return exited(in, at)
	case results.StopGuard:
		return guarded(in, at)
	case "":
		return say(results.Cause{Side: results.SideRunner, Mechanism: results.MechInterrupted, At: at},
			"no end was recorded: the runner stopped while measuring %s, after %s connections were sustained", in.Model, n(at))
	}
	if first == nil {
		top := 0
		if st := lastStep(in.Steps); st != nil {
			top = st.Sustained
		}
		s := fmt.Sprintf("no failure: %s sustained all %s connections offered (target reached; offer more with --steps to find its limit)", in.Model, n(top))
		switch in.Search {
		case results.SearchMachine, results.SearchCeiling, results.SearchBudget:
			// The search, not the plan, stopped: say what stopped it.
			s = fmt.Sprintf("no failure: %s sustained all %s connections offered; the capacity search stopped at %s: %s", in.Model, n(top), in.Search, in.SearchDetail)
		}
		if k, from := earlyFailures(in.Steps); k > 0 {
			s += fmt.Sprintf("; %d message(s) failed along the way, from %s offered on, below what fails a step", k, n(from))
		}
		return say(results.Cause{Side: results.SideNone, Mechanism: results.MechNone, At: top}, "%s", s)
	}
	if r, ok := serverReported(in, first, at); ok {
		return r
	}
	return fromEvidence(in, first, at)
}

func say(c results.Cause, format string, args ...any) Result {
	side := c.Side
	if side == results.SideNone {
		return Result{Cause: c, Sentence: fmt.Sprintf(format, args...)}
	}
	return Result{Cause: c, Sentence: side + ": " + fmt.Sprintf(format, args...)}
}

// firstFailing is the first step that failed the model: complete, trusted
// and not sustained. Failures on a step that was still sustained are noise
// at that load.
func firstFailing(in Input) *results.Step {
	for i := range in.Steps {
		st := &in.Steps[i]
		if st.OK || st.Untrusted != "" || st.Hostile != nil && !st.Cut {
			continue // a hostile kind's effect is reported on its own
		}
		if st.Cut && in.Stop != results.StopExited && in.Stop != results.StopGuard {
			continue
		}
		return st
	}
	return nil
}

func lastStep(steps []results.Step) *results.Step {
	if len(steps) == 0 {
		return nil
	}
	return &steps[len(steps)-1]
}

// earlyFailures sums the failures of steps that were still sustained.
func earlyFailures(steps []results.Step) (int64, int) {
	var k int64
	from := -1
	for _, st := range steps {
		if !st.OK {
			break
		}
		for _, v := range st.Failures {
			k += v
		}
		if k > 0 && from < 0 {
			from = st.Offered
		}
	}
	return k, from
}

func swarmLimit(in Input, at int) Result {
	var st *results.Step
	for i := range in.Steps {
		if in.Steps[i].Untrusted != "" {
			st = &in.Steps[i]
			break
		}
	}
	c := results.Cause{Side: results.SideSwarm, Mechanism: results.MechSwarm, At: at}
	why, off := in.StopDetail, 0
	if st != nil {
		why, off = st.Untrusted, st.Offered
		if st.UntrustedBy != "" {
			c.Mechanism = st.UntrustedBy
		}
	}
	for _, e := range in.Events {
		if e.Kind == results.EventAgentDied {
			c.Mechanism, why = results.MechAgentDied, e.Msg
			break
		}
	}
	c.Evidence = append(c.Evidence, why)
	held := "no step could be trusted before it"
	if at > 0 {
		held = fmt.Sprintf("the model sustained at least %s connections", n(at))
	}
	return say(c, "the clients, not the model, were the limit at %s offered (%s); %s — a client limit, not the model's",
		n(off), why, held)
}

func exited(in Input, at int) Result {
	r := exitedBy(in, at)
	if st := lastStep(in.Steps); st != nil && st.Hostile != nil {
		r.Sentence += fmt.Sprintf(", during the step with %s hostile %s clients", n(st.Hostile.Offered), st.Hostile.Kind)
		r.Cause.Evidence = append(r.Cause.Evidence, "hostile "+st.Hostile.Kind)
	}
	return r
}

func exitedBy(in Input, at int) Result {
	x := in.Exit
	c := results.Cause{Side: results.SideServer, Mechanism: results.MechCrash, At: at}
	if x == nil {
		return say(c, "the model exited by itself at about %s connections: %s", n(at), in.StopDetail)
	}
	peak := peakSample(in.Samples)
	switch {
	case x.Signal == "SIGKILL" && x.OOMKills > 0:
		c.Mechanism = results.MechOOM
		c.Evidence = []string{fmt.Sprintf("%d OOM kill(s) counted", x.OOMKills)}
		return say(c, "the kernel's OOM killer ended the model at about %s connections (%d OOM kill(s) counted; the model's PSS peaked at %s)", n(at), x.OOMKills, units.BytesKiB(peak.Model.PSS))
	case x.MemoryAtLimit:
		c.Mechanism = results.MechGuardMemory
		return say(c, "the model died (%s) at about %s connections with its cgroup's memory at the guard's limit", exitHow(x), n(at))
	case x.Signal == "SIGKILL" || x.Signal == "SIGTERM" || x.Signal == "SIGINT":
		c.Mechanism = results.MechKilled
		oom := "no OOM kill counted"
		if x.OOMKills < 0 {
			oom = "OOM kills not known"
		}
		c.Evidence = []string{oom}
		return say(c, "the model was killed by %s from outside c10klab at about %s connections, not for memory: %s, its memory was %s", x.Signal, n(at), oom, units.BytesKiB(peak.Model.PSS))
	case strings.Contains(x.Stderr, "failed to create new OS thread"):
		// The Go runtime says so only in its crash text: the thread count
		// at the end is the measured part.
		c.Mechanism = results.MechThreadCreate
		c.Limit = int64(peak.Model.Threads)
		return say(c, "the Go runtime could not create an OS thread with %s threads running at about %s connections and aborted (%s) — %s",
			n(peak.Model.Threads), n(at), exitHow(x), threadLimits(in.Env))
	}
	s := fmt.Sprintf("the model exited by itself (%s) at about %s connections", exitHow(x), n(at))
	if line := crashLine(x.Stderr); line != "" {
		// The model's own words first: what a person reads in the log.
		s = fmt.Sprintf("the model crashed (%s) at about %s connections: %s", exitHow(x), n(at), line)
		c.Evidence = append(c.Evidence, line)
		if mech, limit := crashLimit(line, in); limit != "" {
			c.Mechanism = mech
			s += " — " + limit
		}
		return say(c, "%s", s) // the whole stderr is in the exit event
	}
	if x.Stderr != "" {
		s += "; stderr: " + x.Stderr
	}
	return say(c, "%s", s)
}

// crashLine is the line of a crashed model's stderr that says why: the
// last line of a Python traceback ("OSError: [Errno 24] Too many open
// files"), the first of a Go panic or fatal error, or of an uncaught Node
// or Rust error. "" when the stderr holds none of these.
func crashLine(stderr string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(stderr), results.StderrSep, "\n"), "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		for _, p := range []string{"panic: ", "fatal error: ", "thread 'main' panicked", "Error: ", "Segmentation fault"} {
			if strings.HasPrefix(l, p) {
				return l
			}
		}
	}
	if strings.Contains(stderr, "Traceback (most recent call last)") {
		for i := len(lines) - 1; i >= 0; i-- {
			if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "File ") && !strings.HasPrefix(lines[i], " ") {
				return l
			}
		}
	}
	return ""
}

// crashLimit names the limit a crash's own message points to, when it
// points to one: the errno or the runtime's words for it.
func crashLimit(line string, in Input) (mech, limit string) {
	switch l := strings.ToLower(line); {
	case strings.Contains(l, "too many open files") || strings.Contains(l, "emfile"):
		lim := limitValue(in.Env, "open files (soft)")
		if in.Config.ModelNoFile > 0 {
			lim = strconv.Itoa(in.Config.ModelNoFile)
		}
		return results.MechOpenFiles, "the open-files limit, " + lim + " per process"
	case strings.Contains(l, "can't start new thread") || strings.Contains(l, "failed to create new os thread"):
		return results.MechThreadCreate, threadLimits(in.Env)
	case strings.Contains(l, "memoryerror") || strings.Contains(l, "cannot allocate memory") || strings.Contains(l, "out of memory"):
		return results.MechCrash, "memory: the allocation failed"
	}
	return results.MechCrash, ""
}

func exitHow(x *results.Exit) string {
	if x.Signal != "" {
		return "signal " + x.Signal
	}
	return fmt.Sprintf("exit status %d", x.Code)
}

func guarded(in Input, at int) Result {
	c := results.Cause{Side: results.SideMachine, Mechanism: results.MechGuardMemory, At: at}
	if in.Guard != nil && in.Guard.Mechanism != "" {
		c.Mechanism = in.Guard.Mechanism
	}
	s := fmt.Sprintf("stopped by the resource guard at %s connections: %s", n(at), in.StopDetail)
	if c.Mechanism == results.MechGuardPids {
		// The guard's pids limit sits below the kernel's own, to keep the
		// machine usable: name the kernel limit it stands in for.
		peak := peakSample(in.Samples)
		s += fmt.Sprintf("; %s tasks (%s processes, %s threads) at the peak; the guard's pids limit stands in for the kernel's own — %s",
			n(peak.Model.Threads), n(peak.Model.Procs), n(peak.Model.Threads), threadLimits(in.Env))
	}
	return say(c, "%s", s)
}

// serverReported explains a failure from the model's own reports.
func serverReported(in Input, first *results.Step, at int) (Result, bool) {
	agg := map[string]*results.ServerReport{}
	var keys []string
	for i := range in.Reports {
		r := in.Reports[i]
		if r.Kind == contract.KindRead || r.Kind == contract.KindWrite || (!first.End.IsZero() && r.Time.After(first.End)) {
			continue // consequences, seen from the server; the client view says more
		}
		k := r.Kind + ":" + r.Errno
		if a, ok := agg[k]; ok {
			a.Count += r.Count
			continue
		}
		cp := r
		agg[k] = &cp
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return Result{}, false
	}
	r := agg[keys[0]] // the first kind reported
	conns := int(r.Conns) * max(in.Instances, 1)
	switch {
	case r.Kind == contract.KindAccept && (r.Errno == "EMFILE" || r.Errno == "ENFILE"):
		lim := limitValue(in.Env, "open files (soft)")
		if in.Config.ModelNoFile > 0 {
			lim = strconv.Itoa(in.Config.ModelNoFile)
		}
		s := fmt.Sprintf("accept() failed with %s (×%d) at %s connections — open-files limit %s per process", r.Errno, r.Count, n(conns), lim)
		if in.Instances > 1 {
			s += fmt.Sprintf(", %d instances", in.Instances)
		}
		v, _ := strconv.ParseInt(lim, 10, 64)
		return say(results.Cause{Side: results.SideServer, Mechanism: results.MechOpenFiles, At: conns, Limit: v}, "%s", s), true
	case r.Kind == contract.KindForkCap:
		c := results.Cause{Side: results.SideServer, Mechanism: results.MechForkCap, At: at, Limit: r.Conns}
		cap := fmt.Sprintf("its cap of %d children", r.Conns)
		if in.Instances > 1 {
			cap = fmt.Sprintf("its cap of %d children per instance (%d instances)", r.Conns, in.Instances)
		}
		s := fmt.Sprintf("the model stops accepting at %s, %d server processes, from %s connections on; clients saw %s",
			cap, first.Model.Procs, n(at), failureSummary(first))
		if q := queueOverflow(first); q != "" {
			c.Evidence = append(c.Evidence, q)
			s += "; " + q + ": connections past the cap wait in a listen queue the model does not drain"
		}
		return say(c, "%s", s), true
	case r.Kind == contract.KindFork || r.Kind == contract.KindThread:
		mech := map[string]string{contract.KindFork: results.MechProcCreate, contract.KindThread: results.MechThreadCreate}[r.Kind]
		what := map[string]string{contract.KindFork: "create a process", contract.KindThread: "create a thread"}[r.Kind]
		return say(results.Cause{Side: results.SideMachine, Mechanism: mech, At: conns},
			"the model could not %s (%s ×%d) at %s connections — %s", what, r.Errno, r.Count, n(conns), threadLimits(in.Env)), true
	}
	return say(results.Cause{Side: results.SideServer, Mechanism: r.Kind, At: conns},
		"%s failed with %s (×%d) at %s connections; clients saw %s", r.Kind, r.Errno, r.Count, n(conns), failureSummary(first)), true
}

// fromEvidence explains a failed step the model said nothing about, from
// what the clients, the model's process tree and the kernel recorded.
func fromEvidence(in Input, first *results.Step, at int) Result {
	if len(first.ClientFailures) > 0 && len(first.Failures) == 0 {
		return say(results.Cause{Side: results.SideSwarm, Mechanism: results.MechSwarm, At: first.Offered},
			"the clients ran out of their own resources at %s offered (%s) — a client limit, not the model's",
			n(first.Offered), units.Tally(first.ClientFailures))
	}
	f := first.Failures
	total := sum(f)
	held := heldSockets(in, first)
	c := results.Cause{Side: results.SideServer, At: at}
	var s string
	switch {
	case f["mismatch"] > 0 && f["mismatch"]*2 >= total:
		c.Mechanism = results.MechCorrupt
		s = fmt.Sprintf("the model echoed wrong bytes (mismatch ×%d) at %s offered", f["mismatch"], n(first.Offered))
	case f["read:EOF"] > 0 && f["read:EOF"]*2 >= total:
		// The model closes connections. If it holds a steady number while
		// more are offered, that number is a cap on live connections.
		live := liveCap(in, first)
		c.Mechanism, c.Limit = results.MechConnCap, int64(live)
		s = fmt.Sprintf("the server closes connections right after accepting them once %s are live (a cap of %s): read:EOF ×%d at %s offered, %s sustained",
			n(live), n(live), f["read:EOF"], n(first.Offered), n(first.Sustained))
		if live == 0 {
			c.Mechanism = results.MechClosesAll
			s = fmt.Sprintf("the server closes every connection: read:EOF ×%d at %s offered", f["read:EOF"], n(first.Offered))
		}
	case f["read:ECONNRESET"]+f["write:ECONNRESET"]+f["write:EPIPE"] > 0 && (f["read:ECONNRESET"]+f["write:ECONNRESET"]+f["write:EPIPE"])*2 >= total:
		c.Mechanism = results.MechResets
		s = fmt.Sprintf("the server resets connections: %s at %s offered", units.Tally(f), n(first.Offered))
		if v := first.Counters["Tcp.EstabResets"]; v > 0 {
			s += fmt.Sprintf("; the kernel counted %d resets of established connections", v)
		}
	case unaccepted(first, held) || f["connect:ETIMEDOUT"]*2 >= total && f["connect:ETIMEDOUT"] > 0:
		c.Mechanism = results.MechNotAccepting
		how := "stopped accepting"
		if cpuSaturation(in, first) != "" {
			how = "fell behind accepting" // it accepts, but has no CPU left to keep up
		}
		s = fmt.Sprintf("the model %s: it holds %s sockets while the clients had %s open at %s offered (%s); the kernel completed the rest into the listen queue, where they wait unserved",
			how, n(held), n(first.Open), n(first.Offered), failureSummary(first))
		if q := queueOverflow(first); q != "" {
			c.Mechanism = results.MechListenQueue
			s += "; " + q
		}
	case queueOverflow(first) != "" && first.Sustained < first.Open:
		// The kernel counted overflows of a listen queue while connections
		// the clients had open went unserved: the model did not accept
		// them fast enough, or at all.
		c.Mechanism = results.MechListenQueue
		s = fmt.Sprintf("the model did not accept connections as fast as they came: %s; %s of the %s connections the clients had open were served through the window (%s) at %s offered",
			queueOverflow(first), n(first.Sustained), n(first.Open), failureSummary(first), n(first.Offered))
	case pooled(in, first, held):
		// Every socket held, but only some served: a pool of workers (or
		// threads) each on one connection, the rest waiting for one.
		k := first.Sustained
		c.Mechanism, c.Limit = results.MechPool, int64(k)
		due := results.DueEchoes(first, in.Config.Interval)
		s = fmt.Sprintf("the model serves about %s of the %s connections it holds: a pool or cap of %s; the others' messages got no echo (%s of the %s echoes due in the window came back; %s at %s offered)",
			n(k), n(held), n(k), n(int(first.Echoes)), n(int(due)), failureSummary(first), n(first.Offered))
	case lateEchoes(in, first, held):
		c.Mechanism = results.MechLate
		due := results.DueEchoes(first, in.Config.Interval)
		dl := float64(in.Config.Deadline) / float64(time.Millisecond)
		s = fmt.Sprintf("every echo came back, but late: p50 %s, p99 %s against a deadline of %s, %s past it at the median (%s echoes came back in the window, where %s fell due; %s at %s offered, %s sustained)",
			units.MillisTenths(first.Latency.P50), units.MillisTenths(first.Latency.P99), units.MillisTenths(dl), units.MillisTenths(first.Latency.P50-dl), n(int(first.Echoes)), n(int(due)),
			failureSummary(first), n(first.Offered), n(first.Sustained))
	case silentHolding(in, first, held):
		c.Mechanism = results.MechSilent
		s = fmt.Sprintf("the model holds %s sockets but stopped echoing", n(held))
		if t, ok := lastEcho(in.Samples); ok {
			s += fmt.Sprintf(" at about %.0f s", t)
		}
		due := results.DueEchoes(first, in.Config.Interval)
		s += fmt.Sprintf(": %s of the %s echoes due in the window came back (%s) at %s offered, %s sustained",
			n(int(first.Echoes)), n(int(due)), failureSummary(first), n(first.Offered), n(first.Sustained))
	default:
		c.Mechanism = results.MechSlow
		s = fmt.Sprintf("%s at %s offered, %s sustained through the window", failureSummary(first), n(first.Offered), n(first.Sustained))
		if first.Latency.Count > 0 {
			s += fmt.Sprintf("; the window's echoes took p50 %s, p99 %s", units.MillisTenths(first.Latency.P50), units.MillisTenths(first.Latency.P99))
		}
	}
	if perConn := perConnection(first, held); perConn != "" {
		c.Evidence = append(c.Evidence, perConn)
		s += "; " + perConn
	}
	if !first.Settled && first.Window {
		e := fmt.Sprintf("the model had not served every open connection %.0f s after the ramp", first.SettleSeconds)
		c.Evidence = append(c.Evidence, e)
		s += "; " + e
	}
	if we, blocking := workLimit(in, first); we != "" {
		// The work the user asked the handler to do is what limits it:
		// that leads, and what the clients saw follows.
		// A slow handler's echoes come late or not within the window: it
		// looks silent, or not accepting, while it works through the rest.
		slow := c.Mechanism == results.MechSlow || c.Mechanism == results.MechSilent ||
			c.Mechanism == results.MechNotAccepting || c.Mechanism == results.MechListenQueue
		switch {
		case slow && blocking:
			c.Mechanism = results.MechBlockingWork
		case slow:
			c.Mechanism = results.MechCPU
		}
		c.Evidence = append(c.Evidence, we)
		s = we + ": " + s
	}
	if cs := cpuSaturation(in, first); cs != "" {
		if c.Mechanism == results.MechSlow || c.Mechanism == results.MechLate {
			c.Mechanism = results.MechCPU
		}
		c.Evidence = append(c.Evidence, cs)
		s += "; " + cs
	} else if slow := c.Mechanism == results.MechSlow || c.Mechanism == results.MechLate || c.Mechanism == results.MechNotAccepting || c.Mechanism == results.MechListenQueue; slow {
		// The model was slow with CPU left in its share. If something else
		// took its CPU, or the machine had none left, the step measured
		// the machine, not the model alone: that cause leads, and what
		// the clients saw follows.
		taken, byOthers := cpuTaken(in, first)
		mc := machineCPU(in, first)
		// Blame the machine only if the model's threads queued for a CPU:
		// a model that was idle or blocked (one that stopped accepting)
		// is slow by itself, whatever else ran.
		queued := waited(in, first)
		machine := ""
		switch {
		case queued == "":
		case taken != "" && byOthers:
			machine = taken
		case mc != "":
			machine = mc
		}
		switch {
		case machine != "":
			machine += "; " + queued
			c.Side, c.Mechanism = results.SideMachine, results.MechMachineCPU
			c.Evidence = append(c.Evidence, machine)
			s = machine + ": " + s
		case taken != "" && !byOthers:
			// Its CPU was full of its own network work: the model's cost.
			if c.Mechanism == results.MechSlow {
				c.Mechanism = results.MechCPU
			}
			c.Evidence = append(c.Evidence, taken)
			s += "; " + taken
		}
	}
	if ms := memStall(first); ms != "" {
		c.Evidence = append(c.Evidence, ms)
		s += "; " + ms
	}
	return say(c, "%s", s)
}

// unaccepted: the clients hold connections the model's processes do not,
// which the kernel completed into the listen queue, and they failed.
func unaccepted(st *results.Step, held int) bool {
	waiting := st.Open - held
	return sum(st.Failures) > 0 && waiting > max(2, st.Open/20)
}

// liveCap is the number of connections the model keeps when it closes the
// rest: the most sustained in any step, else those of the failing step.
func liveCap(in Input, first *results.Step) int {
	best := 0
	for _, st := range in.Steps {
		if st.Index <= first.Index {
			best = max(best, st.Sustained)
		}
	}
	return best
}

// pooled: the model holds (nearly) every open connection, the clients'
// failures are missed deadlines, and the echoes that came back were about
// the sustained connections' own: a fixed number served whole, the rest
// not at all (a slow model's late echoes spread over every connection).
func pooled(in Input, first *results.Step, held int) bool {
	f := first.Failures
	if first.Sustained == 0 || f["deadline"] == 0 || f["deadline"]*2 < sum(f) || first.Open == 0 || held < first.Open*9/10 {
		return false
	}
	if float64(first.Sustained) >= in.Config.SustainRatio*float64(first.Offered) {
		return false
	}
	// The echoes that came were on time: a pool serves its own promptly.
	// A model short of CPU or memory answers late, across the board.
	if in.Config.Deadline <= 0 || first.Latency.Count == 0 || first.Latency.P99 > float64(in.Config.Deadline)/float64(time.Millisecond) {
		return false
	}
	due := results.DueEchoes(first, in.Config.Interval)
	ownDue := due * float64(first.Sustained) / float64(first.Open)
	return float64(first.Echoes) <= 1.25*ownDue+float64(first.Open)/100
}

// lateEchoes: the model holds (nearly) every open connection and nearly
// every echo due came back, intact, but past the deadline: a handler that
// answers every message late (a slow backend), not one that drops them.
func lateEchoes(in Input, first *results.Step, held int) bool {
	f := first.Failures
	if in.Config.Deadline <= 0 || f["deadline"] == 0 || f["deadline"]*2 < sum(f) || first.Open == 0 || held < first.Open*9/10 || first.Latency.Count == 0 {
		return false
	}
	due := results.DueEchoes(first, in.Config.Interval)
	return float64(first.Echoes) >= 0.8*due && first.Latency.P50 > float64(in.Config.Deadline)/float64(time.Millisecond)
}

// silentHolding: the model holds (nearly) every open connection, the
// clients' failures are missed deadlines, and most echoes due in the
// window never came back — a slow model's come back, late.
func silentHolding(in Input, first *results.Step, held int) bool {
	f := first.Failures
	if f["deadline"] == 0 || f["deadline"]*2 < sum(f) || first.Open == 0 || held < first.Open*9/10 {
		return false
	}
	return float64(first.Echoes) < 0.6*results.DueEchoes(first, in.Config.Interval)
}

// heldSockets estimates the connections the model's processes hold in a
// step: its descriptors above idle, divided by the descriptors it used
// per connection in the last step it sustained (a model may hold a pipe
// pair per connection for splice, or an epoll instance).
func heldSockets(in Input, st *results.Step) int {
	idle := idleFDs(in.Samples)
	perConn := 1.0
	for _, s := range in.Steps {
		if s.Index < st.Index && s.OK && s.Sustained > 0 && s.Model.FDs > idle {
			perConn = max(1, float64(s.Model.FDs-idle)/float64(s.Sustained))
		}
	}
	return int(float64(max(st.Model.FDs-idle, 0)) / perConn)
}

// lastEcho is the elapsed second of the last sample in which the swarm
// still received echoes, when two samples or more after it received none
// (the agents report once a second, so one flat sample proves nothing).
func lastEcho(samples []results.Sample) (float64, bool) {
	for i := len(samples) - 1; i > 0; i-- {
		if samples[i].Swarm.Echoed > samples[i-1].Swarm.Echoed {
			return samples[i].Elapsed, i < len(samples)-2
		}
	}
	return 0, false
}

// idleFDs is the model's descriptors before any connection: the first
// sample's, taken before the first step.
func idleFDs(samples []results.Sample) int {
	for _, s := range samples {
		if s.Swarm.Open == 0 {
			return s.Model.FDs
		}
		break
	}
	return 0
}

// perConnection says when the model runs a process or a thread per
// connection, with the counts that show it.
func perConnection(st *results.Step, held int) string {
	conns := max(held, st.Sustained)
	if conns < 20 {
		return ""
	}
	switch {
	case st.Model.Procs >= conns*8/10:
		return fmt.Sprintf("a process per connection: %s processes for %s connections", n(st.Model.Procs), n(conns))
	case st.Model.Threads >= conns*8/10:
		return fmt.Sprintf("a thread per connection: %s threads for %s connections", n(st.Model.Threads), n(conns))
	}
	return ""
}

func peakSample(samples []results.Sample) results.Sample {
	var p results.Sample
	for _, s := range samples {
		if s.Model.Threads >= p.Model.Threads {
			p.Model.Threads = s.Model.Threads
		}
		p.Model.Procs = max(p.Model.Procs, s.Model.Procs)
		p.Model.PSS = max(p.Model.PSS, s.Model.UserMemory()) // through the cgroups, the cgroup's charge: PSS is not read each second
	}
	return p
}

// cpuSaturation says when the model used (nearly) all the CPU it had
// during the step's window.
func cpuSaturation(in Input, st *results.Step) string {
	if st.HoldSeconds <= 0 {
		return ""
	}
	cpus := len(in.Config.ModelCPUs)
	if cpus <= 0 {
		cpus = max(in.Env.CPUs, 1)
	}
	busy := modelBusy(st)
	if busy < 0.9*float64(cpus) {
		return ""
	}
	return fmt.Sprintf("the model's CPU was saturated (%.0f%% of %d CPU)", 100*busy, cpus)
}

// modelBusy is the CPUs the model used on average over the window.
func modelBusy(st *results.Step) float64 {
	return (st.Model.CPUUser + st.Model.CPUSys) / st.HoldSeconds
}

// machineCPU says when the machine's CPUs were (nearly) all busy while the
// model, sharing them with the swarm, got less than its CPUs: the model
// waited for CPU the agents and the kernel's network work were using.
func machineCPU(in Input, st *results.Step) string {
	if st.HoldSeconds <= 0 || st.MachineCPU <= 0 || in.Env.CPUs <= 0 {
		return ""
	}
	if !sharesCPUs(in.Config.ModelCPUs, in.Config.SwarmCPUs) {
		return ""
	}
	cpus := len(in.Config.ModelCPUs)
	if cpus <= 0 {
		cpus = in.Env.CPUs
	}
	machine := st.MachineCPU / st.HoldSeconds
	model := modelBusy(st)
	agents := st.AgentsCPU / st.HoldSeconds
	if machine < 0.9*float64(in.Env.CPUs) || model >= 0.9*float64(cpus) {
		return ""
	}
	why := fmt.Sprintf("the machine's CPUs were full (%.2f of %d busy: the model %.2f, the agents %.2f, the kernel and the rest %.2f) and the model, sharing its CPU with the swarm, got %.2f of its %d",
		machine, in.Env.CPUs, model, agents, max(0, machine-model-agents), model, cpus)
	if o := othersText(st); o != "" {
		why += "; " + o
	}
	return why
}

// cpuTaken says when the CPUs the model was pinned to were (nearly) all
// busy while the model itself got less than them: the kernel's softirqs
// (packet delivery, on loopback both ends') and other tasks ran there.
// byOthers is true when tasks other than the softirqs took a tenth of
// those CPUs or more.
func cpuTaken(in Input, st *results.Step) (why string, byOthers bool) {
	cpus := len(in.Config.ModelCPUs)
	if st.HoldSeconds <= 0 || st.ModelCPUBusy <= 0 || cpus == 0 {
		return "", false
	}
	busy := st.ModelCPUBusy / st.HoldSeconds
	model := modelBusy(st)
	if busy < 0.9*float64(cpus) || model >= 0.9*float64(cpus) {
		return "", false
	}
	softirq := st.ModelCPUSoftirq / st.HoldSeconds
	rest := max(0, busy-model-softirq)
	why = fmt.Sprintf("the model's CPU (%s) was full (%.2f of %d busy) but the model got %.2f of it: the kernel's softirqs %.2f, other tasks %.2f",
		units.Ints(in.Config.ModelCPUs), busy, cpus, model, softirq, rest)
	if o := othersText(st); o != "" {
		why += "; " + o
	}
	return why, rest >= 0.1*float64(cpus)
}

// waited says when the model's threads spent a tenth of the window or
// more, per CPU of the model, runnable but waiting for a CPU.
func waited(in Input, st *results.Step) string {
	cpus := max(len(in.Config.ModelCPUs), 1)
	if st.HoldSeconds <= 0 || st.ModelWait < 0.1*float64(cpus)*st.HoldSeconds {
		return ""
	}
	return fmt.Sprintf("the model's threads queued for a CPU, %.1f of them at a time on average (schedstat: %.1f thread-seconds in the %.0f s window)",
		st.ModelWait/st.HoldSeconds, st.ModelWait, st.HoldSeconds)
}

// othersText names the busiest processes outside the model and the
// agents over the window.
func othersText(st *results.Step) string {
	if len(st.Others) == 0 || st.HoldSeconds <= 0 {
		return ""
	}
	parts := make([]string, len(st.Others))
	for i, o := range st.Others {
		parts[i] = fmt.Sprintf("%s (pid %d) %.2f CPU", o.Comm, o.PID, o.CPU/st.HoldSeconds)
	}
	return "the busiest other processes on the machine: " + strings.Join(parts, ", ")
}

// sharesCPUs reports whether the model and the swarm could run on the same
// CPU: either unpinned, or their sets overlap.
func sharesCPUs(model, swarm []int) bool {
	if len(model) == 0 || len(swarm) == 0 {
		return true
	}
	for _, c := range swarm {
		if slices.Contains(model, c) {
			return true
		}
	}
	return false
}

// memStall says when tasks on the machine waited on memory (reclaim,
// refaults) for a tenth of the window or more.
func memStall(st *results.Step) string {
	if st.HoldSeconds <= 0 || st.MemStall < 0.1*st.HoldSeconds {
		return ""
	}
	return fmt.Sprintf("tasks waited on memory %.0f%% of the window (%.1f s of %.0f s, /proc/pressure/memory)",
		100*st.MemStall/st.HoldSeconds, st.MemStall, st.HoldSeconds)
}

func threadLimits(env results.Environment) string {
	var parts []string
	for _, l := range env.Limits {
		switch {
		case strings.Contains(l.Name, "pid_max"), strings.Contains(l.Name, "threads-max"), strings.Contains(strings.ToLower(l.Name), "nproc"), strings.Contains(l.Name, "pids"):
			parts = append(parts, fmt.Sprintf("%s %s", l.Name, l.Value))
		}
	}
	if len(parts) == 0 {
		return "a thread or process limit"
	}
	return "thread limits here: " + strings.Join(parts, ", ")
}

func queueOverflow(st *results.Step) string {
	if st == nil {
		return ""
	}
	var parts []string
	if v := st.Counters["TcpExt.ListenOverflows"]; v > 0 {
		parts = append(parts, fmt.Sprintf("the listen queue overflowed %d times (TcpExt.ListenOverflows)", v))
	}
	if v := st.Counters["TcpExt.TCPReqQFullDrop"]; v > 0 {
		parts = append(parts, fmt.Sprintf("%d SYNs were dropped with the SYN queue full", v))
	}
	return strings.Join(parts, ", ")
}

func failureSummary(st *results.Step) string {
	if st == nil || len(st.Failures) == 0 {
		if st != nil && !st.OK {
			return fmt.Sprintf("only %s of %s offered connections sustained", n(st.Sustained), n(st.Offered))
		}
		return "no classified failure"
	}
	return units.Tally(st.Failures)
}

func limitValue(env results.Environment, name string) string {
	for _, l := range env.Limits {
		if l.Name == name {
			return l.Value
		}
	}
	return "?"
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

// n is the sentences' exact count, 19,990: a short name for the figure
// most of them carry.
func n(v int) string { return units.Grouped(v) }
