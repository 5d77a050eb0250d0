package diagnose

import (
	"fmt"
	"strconv"
	"strings"

	"c10klab/contract"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// rule names a cause from the evidence, or does not match.
type rule struct {
	name  string
	match func(*evidence) (Cause, bool)
}

// rules are tried in order and the first that matches is the diagnosis:
// first how measuring ended when that says it all (an error, the user, the
// swarm, a crash, the guard), then no failure, then the model's own
// reports, then the clients' and the kernel's view of the failed step.
var rules = []rule{
	{"not measurable", onStop(results.StopError, notMeasurable)},
	{"refused", onStop(results.StopRefused, refused)},
	{"results not writable", onStop(results.StopResults, diskFull)},
	{"interrupted", onStop(results.StopInterrupted, interrupted)},
	{"swarm limit", onStop(results.StopSwarm, swarmLimit)},
	{"exited", onStop(results.StopExited, exited)},
	{"guard", onStop(results.StopGuard, guarded)},
	{"no end recorded", onStop("", noEnd)},
	{"no failure", noFailure},
	{"the model's own report", serverReported},
	{"the failed step", failedStep},
}

// onStop is a rule that matches when measuring ended by stop.
func onStop(stop results.Stop, cause func(*evidence) Cause) func(*evidence) (Cause, bool) {
	return func(ev *evidence) (Cause, bool) {
		if ev.in.Stop != stop {
			return Cause{}, false
		}
		return cause(ev), true
	}
}

func cause(side results.Side, mech results.Mechanism, at int, format string, args ...any) Cause {
	return Cause{Cause: results.Cause{Side: side, Mechanism: mech, At: at}, Body: fmt.Sprintf(format, args...)}
}

func notMeasurable(ev *evidence) Cause {
	return cause(results.SideServer, results.MechNotMeasurable, 0, "%s could not be measured: %s", ev.in.Model, ev.in.StopDetail)
}

func refused(ev *evidence) Cause {
	return cause(results.SideServer, results.MechRefused, 0, "%s: %s", ev.in.Model, ev.in.StopDetail)
}

func diskFull(ev *evidence) Cause {
	return cause(results.SideRunner, results.MechDiskFull, ev.at,
		"runner: the results could no longer be written (%s), so measuring %s stopped at %s connections sustained; not a finding about the model", ev.in.StopDetail, ev.in.Model, n(ev.at))
}

func interrupted(ev *evidence) Cause {
	c := cause(results.SideRunner, results.MechInterrupted, ev.at, "interrupted by the user after %s connections were sustained", n(ev.at))
	if cut := lastStep(ev.in.Steps); cut != nil && cut.Cut {
		c.Body += fmt.Sprintf(", during step %d (%s offered); that step is not counted against the model", cut.Index, n(cut.Offered))
	}
	return c
}

func noEnd(ev *evidence) Cause {
	return cause(results.SideRunner, results.MechInterrupted, ev.at,
		"no end was recorded: the runner stopped while measuring %s, after %s connections were sustained", ev.in.Model, n(ev.at))
}

func noFailure(ev *evidence) (Cause, bool) {
	if ev.first != nil {
		return Cause{}, false
	}
	in, top := ev.in, 0
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
	return cause(results.SideNone, results.MechNone, top, "%s", s), true
}

func swarmLimit(ev *evidence) Cause {
	in, at := ev.in, ev.at
	var st *results.Step
	for i := range in.Steps {
		if in.Steps[i].Untrusted != "" {
			st = &in.Steps[i]
			break
		}
	}
	mech := results.MechSwarm
	why, off := in.StopDetail, 0
	if st != nil {
		why, off = st.Untrusted, st.Offered
		if st.UntrustedBy != "" {
			mech = st.UntrustedBy
		}
	}
	for _, e := range in.Events {
		if e.Kind == results.EventAgentDied {
			mech, why = results.MechAgentDied, e.Msg
			break
		}
	}
	held := "no step could be trusted before it"
	if at > 0 {
		held = fmt.Sprintf("the model sustained at least %s connections", n(at))
	}
	c := cause(results.SideSwarm, mech, at, "the clients, not the model, were the limit at %s offered (%s); %s — a client limit, not the model's",
		n(off), why, held)
	c.Evidence = append(c.Evidence, why)
	return c
}

func exited(ev *evidence) Cause {
	c := exitedBy(ev)
	if st := lastStep(ev.in.Steps); st != nil && st.Hostile != nil {
		c.Body += fmt.Sprintf(", during the step with %s hostile %s clients", n(st.Hostile.Offered), st.Hostile.Kind)
		c.Evidence = append(c.Evidence, "hostile "+st.Hostile.Kind)
	}
	return c
}

func exitedBy(ev *evidence) Cause {
	in, at, x := ev.in, ev.at, ev.in.Exit
	c := cause(results.SideServer, results.MechCrash, at, "")
	if x == nil {
		c.Body = fmt.Sprintf("the model exited by itself at about %s connections: %s", n(at), in.StopDetail)
		return c
	}
	peak := peakSample(in.Samples)
	switch {
	case x.Signal == "SIGKILL" && x.OOMKills > 0:
		c.Mechanism = results.MechOOM
		c.Evidence = []string{fmt.Sprintf("%d OOM kill(s) counted", x.OOMKills)}
		c.Body = fmt.Sprintf("the kernel's OOM killer ended the model at about %s connections (%d OOM kill(s) counted; the model's PSS peaked at %s)", n(at), x.OOMKills, units.BytesKiB(peak.Model.PSS))
		return c
	case x.MemoryAtLimit:
		c.Mechanism = results.MechGuardMemory
		c.Body = fmt.Sprintf("the model died (%s) at about %s connections with its cgroup's memory at the guard's limit", exitHow(x), n(at))
		return c
	case x.Signal == "SIGKILL" || x.Signal == "SIGTERM" || x.Signal == "SIGINT":
		c.Mechanism = results.MechKilled
		oom := "no OOM kill counted"
		if x.OOMKills < 0 {
			oom = "OOM kills not known"
		}
		c.Evidence = []string{oom}
		c.Body = fmt.Sprintf("the model was killed by %s from outside c10klab at about %s connections, not for memory: %s, its memory was %s", x.Signal, n(at), oom, units.BytesKiB(peak.Model.PSS))
		return c
	case strings.Contains(x.Stderr, "failed to create new OS thread"):
		// The Go runtime says so only in its crash text: the thread count
		// at the end is the measured part.
		c.Mechanism = results.MechThreadCreate
		c.Limit = int64(peak.Model.Threads)
		c.Body = fmt.Sprintf("the Go runtime could not create an OS thread with %s threads running at about %s connections and aborted (%s) — %s",
			n(peak.Model.Threads), n(at), exitHow(x), threadLimits(in.Env))
		return c
	}
	if line := crashLine(x.Stderr); line != "" {
		// The model's own words first: what a person reads in the log.
		// The whole stderr is in the exit event.
		c.Body = fmt.Sprintf("the model crashed (%s) at about %s connections: %s", exitHow(x), n(at), line)
		c.Evidence = append(c.Evidence, line)
		if mech, limit := crashLimit(line, in); limit != "" {
			c.Mechanism = mech
			c.Body += " — " + limit
		}
		return c
	}
	c.Body = fmt.Sprintf("the model exited by itself (%s) at about %s connections", exitHow(x), n(at))
	if x.Stderr != "" {
		c.Body += "; stderr: " + x.Stderr
	}
	return c
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
func crashLimit(line string, in Input) (mech results.Mechanism, limit string) {
	switch l := strings.ToLower(line); {
	case strings.Contains(l, "too many open files") || strings.Contains(l, "emfile"):
		return results.MechOpenFiles, "the open-files limit, " + openFiles(in) + " per process"
	case strings.Contains(l, "can't start new thread") || strings.Contains(l, "failed to create new os thread"):
		return results.MechThreadCreate, threadLimits(in.Env)
	case strings.Contains(l, "memoryerror") || strings.Contains(l, "cannot allocate memory") || strings.Contains(l, "out of memory"):
		return results.MechCrash, "memory: the allocation failed"
	}
	return results.MechCrash, ""
}

func guarded(ev *evidence) Cause {
	in, at := ev.in, ev.at
	c := cause(results.SideMachine, results.MechGuardMemory, at, "stopped by the resource guard at %s connections: %s", n(at), in.StopDetail)
	if in.Guard != nil && in.Guard.Mechanism != "" {
		c.Mechanism = in.Guard.Mechanism
	}
	if c.Mechanism == results.MechGuardPids {
		// The guard's pids limit sits below the kernel's own, to keep the
		// machine usable: name the kernel limit it stands in for.
		peak := peakSample(in.Samples)
		c.Body += fmt.Sprintf("; %s tasks (%s processes, %s threads) at the peak; the guard's pids limit stands in for the kernel's own — %s",
			n(peak.Model.Threads), n(peak.Model.Procs), n(peak.Model.Threads), threadLimits(in.Env))
	}
	return c
}

// serverReported explains a failure from the model's own reports.
func serverReported(ev *evidence) (Cause, bool) {
	in, first, at := ev.in, ev.first, ev.at
	// By kind and errno, as the model reported them ("accept", "EMFILE").
	agg := map[results.FailKey]*results.ServerReport{}
	var keys []results.FailKey
	for i := range in.Reports {
		r := in.Reports[i]
		if r.Kind == contract.KindRead || r.Kind == contract.KindWrite || (!first.End.IsZero() && r.Time.After(first.End)) {
			continue // consequences, seen from the server; the client view says more
		}
		k := results.FailKey{Phase: r.Kind, Errno: r.Errno}
		if a, ok := agg[k]; ok {
			a.Count += r.Count
			continue
		}
		cp := r
		agg[k] = &cp
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return Cause{}, false
	}
	r := agg[keys[0]] // the first kind reported
	conns := int(r.Conns) * max(in.Instances, 1)
	switch {
	case r.Kind == contract.KindAccept && (r.Errno == "EMFILE" || r.Errno == "ENFILE"):
		lim := openFiles(in)
		c := cause(results.SideServer, results.MechOpenFiles, conns, "accept() failed with %s (×%d) at %s connections — open-files limit %s per process", r.Errno, r.Count, n(conns), lim)
		if in.Instances > 1 {
			c.Body += fmt.Sprintf(", %d instances", in.Instances)
		}
		c.Limit, _ = strconv.ParseInt(lim, 10, 64) // "?" when unknown: no figure
		return c, true
	case r.Kind == contract.KindForkCap:
		cap := fmt.Sprintf("its cap of %d children", r.Conns)
		if in.Instances > 1 {
			cap = fmt.Sprintf("its cap of %d children per instance (%d instances)", r.Conns, in.Instances)
		}
		c := cause(results.SideServer, results.MechForkCap, at, "the model stops accepting at %s, %d server processes, from %s connections on; clients saw %s",
			cap, first.Model.Procs, n(at), failureSummary(first))
		c.Limit = r.Conns
		if q := ev.queue.String(); q != "" {
			c.Evidence = append(c.Evidence, q)
			c.Body += "; " + q + ": connections past the cap wait in a listen queue the model does not drain"
		}
		return c, true
	case r.Kind == contract.KindFork || r.Kind == contract.KindThread:
		mech := map[string]results.Mechanism{contract.KindFork: results.MechProcCreate, contract.KindThread: results.MechThreadCreate}[r.Kind]
		what := map[string]string{contract.KindFork: "create a process", contract.KindThread: "create a thread"}[r.Kind]
		return cause(results.SideMachine, mech, conns,
			"the model could not %s (%s ×%d) at %s connections — %s", what, r.Errno, r.Count, n(conns), threadLimits(in.Env)), true
	}
	mech := results.MechReported
	if r.Kind == contract.KindAccept {
		mech = results.MechAcceptFailed
	}
	return cause(results.SideServer, mech, conns,
		"%s failed with %s (×%d) at %s connections; clients saw %s", r.Kind, r.Errno, r.Count, n(conns), failureSummary(first)), true
}

// failedStep explains a failed step the model said nothing about, from
// what the clients, the model's process tree and the kernel recorded: the
// first mechanism rule that matches names what the clients saw, and the
// refinements then add what explains it (its CPU, the work per message,
// the machine).
func failedStep(ev *evidence) (Cause, bool) {
	first := ev.first
	if len(first.ClientFailures) > 0 && len(first.Failures) == 0 {
		return cause(results.SideSwarm, results.MechSwarm, first.Offered,
			"the clients ran out of their own resources at %s offered (%s) — a client limit, not the model's",
			n(first.Offered), units.Tally(first.ClientFailures)), true
	}
	var c Cause
	for _, r := range mechanisms {
		var ok bool
		if c, ok = r.match(ev); ok {
			break
		}
	}
	for _, refine := range refinements {
		refine(ev, &c)
	}
	return c, true
}

// mechanisms name what the clients saw of a failed step, first match
// wins; the last matches every step.
var mechanisms = []rule{
	{"wrong bytes", corrupt},
	{"closes connections", closes},
	{"resets", resetsRule},
	{"not accepting", notAccepting},
	{"listen queue", listenQueue},
	{"pool", pool},
	{"late echoes", late},
	{"silent", silent},
	{"slow", slow},
}

func corrupt(ev *evidence) (Cause, bool) {
	if !ev.mostly(results.FailMismatch) {
		return Cause{}, false
	}
	return cause(results.SideServer, results.MechCorrupt, ev.at, "the model echoed wrong bytes (%s ×%d) at %s offered",
		results.FailMismatch, ev.fails[results.FailMismatch], n(ev.first.Offered)), true
}

func closes(ev *evidence) (Cause, bool) {
	if !ev.mostly(results.FailReadEOF) {
		return Cause{}, false
	}
	// The model closes connections. If it holds a steady number while
	// more are offered, that number is a cap on live connections.
	first, eof := ev.first, ev.fails[results.FailReadEOF]
	live := liveCap(ev.in, first)
	if live == 0 {
		return cause(results.SideServer, results.MechClosesAll, ev.at, "the server closes every connection: %s ×%d at %s offered",
			results.FailReadEOF, eof, n(first.Offered)), true
	}
	c := cause(results.SideServer, results.MechConnCap, ev.at, "the server closes connections right after accepting them once %s are live (a cap of %s): %s ×%d at %s offered, %s sustained",
		n(live), n(live), results.FailReadEOF, eof, n(first.Offered), n(first.Sustained))
	c.Limit = int64(live)
	return c, true
}

func resetsRule(ev *evidence) (Cause, bool) {
	if r := ev.resets(); r == 0 || r*2 < ev.total {
		return Cause{}, false
	}
	first := ev.first
	c := cause(results.SideServer, results.MechResets, ev.at, "the server resets connections: %s at %s offered", units.Tally(first.Failures), n(first.Offered))
	if v := first.Counters["Tcp.EstabResets"]; v > 0 {
		c.Body += fmt.Sprintf("; the kernel counted %d resets of established connections", v)
	}
	return c, true
}

func notAccepting(ev *evidence) (Cause, bool) {
	if !ev.unaccepted() && !ev.mostly(results.FailConnectTimeout) {
		return Cause{}, false
	}
	first := ev.first
	how := "stopped accepting"
	if ev.sat.full {
		how = "fell behind accepting" // it accepts, but has no CPU left to keep up
	}
	c := cause(results.SideServer, results.MechNotAccepting, ev.at, "the model %s: it holds %s sockets while the clients had %s open at %s offered (%s); the kernel completed the rest into the listen queue, where they wait unserved",
		how, n(ev.held), n(first.Open), n(first.Offered), failureSummary(first))
	if ev.queue.any() {
		c.Mechanism = results.MechListenQueue
		c.Body += "; " + ev.queue.String()
	}
	return c, true
}

func listenQueue(ev *evidence) (Cause, bool) {
	first := ev.first
	if !ev.queue.any() || first.Sustained >= first.Open || ev.held >= first.Open {
		return Cause{}, false
	}
	// The kernel counted overflows of a listen queue while connections
	// the clients had open went unserved and unaccepted: the model did not
	// accept them fast enough, or at all. The counters are the network
	// namespace's, not the model's listener's: a model that holds every
	// connection the clients have open has no one left in its queue, and
	// the overflows were another listener's (a pool holding 150 of 150
	// was called a listen queue on 216 overflows of another run's model
	// beside it, 20261203).
	return cause(results.SideServer, results.MechListenQueue, ev.at, "the model did not accept connections as fast as they came: %s; %s of the %s connections the clients had open were served through the window (%s) at %s offered",
		ev.queue, n(first.Sustained), n(first.Open), failureSummary(first), n(first.Offered)), true
}

func pool(ev *evidence) (Cause, bool) {
	if !ev.pooled() {
		return Cause{}, false
	}
	// Every socket held, but only some served: a pool of workers (or
	// threads) each on one connection, the rest waiting for one.
	first := ev.first
	k := first.Sustained
	c := cause(results.SideServer, results.MechPool, ev.at, "the model serves about %s of the %s connections it holds: a pool or cap of %s; the others' messages got no echo (%s of the %s echoes due in the window came back; %s at %s offered)",
		n(k), n(ev.held), n(k), n(int(first.Echoes)), n(int(ev.due())), failureSummary(first), n(first.Offered))
	c.Limit = int64(k)
	return c, true
}

func late(ev *evidence) (Cause, bool) {
	if !ev.lateEchoes() {
		return Cause{}, false
	}
	first, dl := ev.first, ev.deadlineMs()
	return cause(results.SideServer, results.MechLate, ev.at, "every echo came back, but late: p50 %s, p99 %s against a deadline of %s, %s past it at the median (%s echoes came back in the window, where %s fell due; %s at %s offered, %s sustained)",
		units.MillisTenths(first.Latency.P50), units.MillisTenths(first.Latency.P99), units.MillisTenths(dl), units.MillisTenths(first.Latency.P50-dl), n(int(first.Echoes)), n(int(ev.due())),
		failureSummary(first), n(first.Offered), n(first.Sustained)), true
}

func silent(ev *evidence) (Cause, bool) {
	if !ev.silentHolding() {
		return Cause{}, false
	}
	first := ev.first
	c := cause(results.SideServer, results.MechSilent, ev.at, "the model holds %s sockets but stopped echoing", n(ev.held))
	if t, ok := lastEcho(ev.in.Samples); ok {
		c.Body += fmt.Sprintf(" at about %.0f s", t)
	}
	c.Body += fmt.Sprintf(": %s of the %s echoes due in the window came back (%s) at %s offered, %s sustained",
		n(int(first.Echoes)), n(int(ev.due())), failureSummary(first), n(first.Offered), n(first.Sustained))
	return c, true
}

func slow(ev *evidence) (Cause, bool) {
	first := ev.first
	c := cause(results.SideServer, results.MechSlow, ev.at, "%s at %s offered, %s sustained through the window", failureSummary(first), n(first.Offered), n(first.Sustained))
	if first.Latency.Count > 0 {
		c.Body += fmt.Sprintf("; the window's echoes took p50 %s, p99 %s", units.MillisTenths(first.Latency.P50), units.MillisTenths(first.Latency.P99))
	}
	return c, true
}

// refinements add to a failed step's cause, in order, what explains it.
var refinements = []func(*evidence, *Cause){
	perConnNote,
	settleNote,
	workLead,
	saturatedNote,
	machineLimit,
	shareNote,
	stallNote,
}

func perConnNote(ev *evidence, c *Cause) {
	if p := perConnection(ev.first, ev.held); p != "" {
		c.note(p)
	}
}

func settleNote(ev *evidence, c *Cause) {
	if first := ev.first; !first.Settled && first.Window {
		c.note(fmt.Sprintf("the model had not served every open connection %.0f s after the ramp", first.SettleSeconds))
	}
}

// workLead: the work the user asked the handler to do is what limits it:
// that leads, and what the clients saw follows. A slow handler's echoes
// come late or not within the window: it looks silent, or not accepting,
// while it works through the rest.
func workLead(ev *evidence, c *Cause) {
	we, blocking := workLimit(ev)
	if we == "" {
		return
	}
	switch c.Mechanism {
	case results.MechSlow, results.MechSilent, results.MechNotAccepting, results.MechListenQueue:
		c.Mechanism = results.MechCPU
		if blocking {
			c.Mechanism = results.MechBlockingWork
		}
	}
	c.Evidence = append(c.Evidence, we)
	c.lead(we)
}

// saturatedNote: a model that used all its CPU is CPU-bound.
func saturatedNote(ev *evidence, c *Cause) {
	if !ev.sat.full {
		return
	}
	if c.Mechanism == results.MechSlow || c.Mechanism == results.MechLate {
		c.Mechanism = results.MechCPU
	}
	c.note(ev.sat.String())
}

// sharedCPU reports whether a failed step's cause is one the CPU the
// model ran on can explain: it was slow, late or behind accepting with
// CPU left in its own share, and those CPUs were full.
func sharedCPU(ev *evidence, c *Cause) bool {
	switch c.Mechanism {
	case results.MechSlow, results.MechLate, results.MechNotAccepting, results.MechListenQueue:
		return !ev.sat.full && ev.share.full
	}
	return false
}

// shareFigures are the figures of who used the model's CPU, with its
// threads' queueing when they queued.
func shareFigures(ev *evidence) string {
	figures := ev.share.String()
	if ev.wait.queued {
		figures += "; " + ev.wait.String()
	}
	return figures
}

// machineLimit is the one rule that makes a failed step the machine's:
// the model's threads queued for a CPU, named unrelated work took
// MachineShare of the model's CPU or more, and without it the model
// would have had the CPU its load needed at its own cost per echo. The
// softirqs delivering its traffic and c10klab's own agents and runner are
// never counted (README, "When the machine is the limit"). That cause
// leads, and what the clients saw follows.
func machineLimit(ev *evidence, c *Cause) {
	if !sharedCPU(ev, c) || !ev.wait.queued || !ev.share.machineLimit() {
		return
	}
	c.Side, c.Mechanism = results.SideMachine, results.MechMachineCPU
	machine := ev.share.verdict() + "; " + shareFigures(ev)
	c.Evidence = append(c.Evidence, machine)
	c.lead(machine)
}

// shareNote: otherwise the verdict stays the model's, with who used its
// CPU beside it. Its CPU was full of its own work, its traffic's and
// c10klab's: a slow model is CPU-bound if its threads queued for the CPU
// or it and its traffic's softirqs filled it alone.
func shareNote(ev *evidence, c *Cause) {
	if c.Side == results.SideMachine || !sharedCPU(ev, c) {
		return
	}
	if c.Mechanism == results.MechSlow && (ev.wait.queued || ev.share.modelFull()) {
		c.Mechanism = results.MechCPU
	}
	c.note(shareFigures(ev))
}

func stallNote(ev *evidence, c *Cause) {
	if ev.stall.stalled {
		c.note(ev.stall.String())
	}
}
