package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"c10klab/contract"
	"c10klab/runner/conformance"
	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/swarm"
)

// measurement is one model's part of a run: its lifecycle (start, guard,
// swarm, teardown) here, the step controller in step.go, and the judging
// in package analysis, which the run and `c10klab plot` share. Its state is
// grouped by concern in the embedded structs below, each changed by one
// part of the measurement.
type measurement struct {
	opt    *Options
	runRec *results.Run // run.json: the inputs of the analysis
	subject
	sizing
	lifecycle
	baseline
	reportTally
	recorder
	progress
	// probeErrs are the reads that failed, each recorded once (probeerr.go).
	probeErrs probeFailures
}

// subject is the model measured: what it is and where its files go.
type subject struct {
	spec       model.Spec
	label, bin string
	dir        string
	refused    map[string]string // conformance checks the model declares it fails, and why
}

// sizing is what the run sized the model's instances and the swarm for,
// before the first step.
type sizing struct {
	perProcess int
	modelCPUs  []int
	swarmCPUs  []int
	// top is the most connections the run offers (Options.searchTop),
	// and topEnd, topWhy name what set it.
	top    int
	topEnd results.SearchEnd
	topWhy string
	// budget bounds the search from the model's start (0: none):
	// Options.modelBudget's, when the model starts.
	budget time.Duration
}

// lifecycle is the processes the measurement started and watches: the
// model, its swarm, their samplers, the guard.
type lifecycle struct {
	started time.Time
	running *model.Running
	sw      *swarm.Swarm
	tree    *probe.Tree     // the model's processes
	agents  *probe.Tree     // the swarm's processes
	cgroup  *guard.Group    // the model's cgroups; nil without root or cgroup v1
	watch   *guard.Watchdog // MemAvailable floor, with or without cgroups
	// treeCfg and wrap say how to sample the model and how to start it
	// inside its cgroups (setupGuard), for its first start and restarts.
	treeCfg probe.TreeConfig
	wrap    func([]string) []string
}

// baseline is the machine and the model before load: what the steps'
// memory figures are counted from.
type baseline struct {
	baseSys results.System // before the model started
	baseMem int64          // the model's user memory idle, after it became ready (results.Proc.UserMemory)
	idle    results.Proc   // the model's processes idle, after it became ready
}

// reportTally counts the model's own reports, which arrive from the
// instances' stdout readers, hence mu.
type reportTally struct {
	mu sync.Mutex
	// reportCounts sums reports by "kind:ERRNO" over the whole run.
	reportCounts       map[string]int64
	reportsAtStepStart map[string]int64
}

// recorder is the model's timeline and every record written to it, for
// the analysis at the end: the same records `c10klab plot` reads back from
// the timeline. Reports arrive from other goroutines, hence recMu.
type recorder struct {
	tl          *results.Timeline
	recMu       sync.Mutex
	records     []results.Record
	writeFailed bool // the timeline refused a record: said once
}

// progress is where the steps have got: the latest sample, the step
// running and what it has seen so far.
type progress struct {
	last results.Sample
	// stepLagMs is the swarm's worst lag behind its send schedule in any
	// second of the current step.
	stepLagMs float64
	// current is the step running, whose phase labels each sample.
	current  *stepRun
	peakOpen int // the most connections the swarm held in this model's run
}

// connectTimeout is how long an agent waits for a connect to complete: past
// the kernel's first SYN retransmissions (1 s, 3 s), so a full listen queue
// shows as a timeout rather than as a slow connect.
const connectTimeout = 5 * time.Second

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (m *measurement) record(r results.Record) {
	m.recMu.Lock()
	defer m.recMu.Unlock()
	m.records = append(m.records, r)
	if err := m.tl.Append(r); err != nil {
		if m.writeFailed {
			return // said once; the step loop stops at its next second
		}
		m.writeFailed = true
		// The observer (the terminal) hears of it at least.
		r = results.Record{Type: results.TypeEvent, Event: &results.Event{Time: time.Now(), Kind: "write_error", Msg: err.Error()}}
	}
	if m.opt.Observe != nil {
		m.opt.Observe(m.label, r)
	}
}

func (m *measurement) event(kind, format string, args ...any) {
	m.recordEvent(results.Event{Time: time.Now(), Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

func (m *measurement) recordEvent(e results.Event) {
	m.record(results.Record{Type: results.TypeEvent, Event: &e})
}

// stopCause is why the step loop ended.
type stopCause struct {
	stop   results.Stop
	detail string
	err    error // a failure of the run itself, not a finding about the model
	// search and searchDetail: how the capacity search ended
	// (results.Search*), when it ran.
	search       results.SearchEnd
	searchDetail string
}

// run measures the model and always returns a summary of what it saw,
// however the measurement ended.
func (m *measurement) run(ctx context.Context) (*results.Summary, error) {
	var err error
	if m.tl, err = results.CreateTimeline(m.dir, m.label); err != nil {
		return nil, err
	}
	defer m.tl.Close()

	cause := m.measure(ctx)
	m.teardown()
	e := results.Event{Time: time.Now(), Kind: results.EventEnded, Msg: "measurement ended: " + string(cause.stop),
		Stop: cause.stop, Detail: cause.detail, Search: cause.search, SearchDetail: cause.searchDetail}
	m.record(results.Record{Type: results.TypeEvent, Event: &e})
	m.tl.Sync()
	m.recMu.Lock()
	records := slices.Clone(m.records)
	m.recMu.Unlock()
	sum := analysis.Summarize(m.runRec, m.label, records)
	return &sum, cause.err
}

func (m *measurement) instances() int {
	if m.opt.Procs > 0 {
		return m.opt.Procs
	}
	return max(1, ceilDiv(m.top, m.perProcess))
}

// conform runs the quick conformance check: a model that does not keep
// the contract is not measured, since its numbers would not mean what the
// others' do. It checks correctness at a count any server holds (a preset
// such as forked:seed, with its 40 children and backlog of 5, passes);
// capacity is the run's to find.
func (m *measurement) conform(ctx context.Context) *stopCause {
	if !m.opt.Conformance {
		return nil
	}
	if m.spec.Work != "" {
		// The quick check's megabyte burst is 65,536 requests of 16 bytes:
		// at cpu=200us that is 13 s of work, past its 5 s budget. The same
		// model's plain echo is checked in its own measurement, and the
		// suite (make test) checks the work itself.
		m.event(results.EventConformance, "quick conformance check skipped: the model runs with work %s", m.spec.Work)
		return nil
	}
	err := conformance.Quick(ctx, m.opt.Addr)
	if err == nil {
		m.event(results.EventConformance, "quick conformance check passed")
		return nil
	}
	if ctx.Err() != nil {
		return &stopCause{stop: results.StopInterrupted}
	}
	// A model that breaks the contract is a finding about the model, not a
	// failure of the run: the others are measured and the run succeeds.
	detail := "refused to benchmark: conformance check failed: " + err.Error()
	var ce *conformance.CheckError
	if errors.As(err, &ce) && m.refused[ce.Check] != "" {
		detail += " — a refusal the model declares: " + m.refused[ce.Check]
	}
	m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventConformance, Msg: detail, Mechanism: results.MechRefused})
	return &stopCause{stop: results.StopRefused, detail: detail}
}

// setupGuard prepares the resource guard: cgroups with memory and pids
// limits when running as root with cgroup v1, and always a watchdog on the
// machine's available memory. It returns how to sample the model's tree
// and how to wrap its command line so it starts inside the cgroups.
func (m *measurement) setupGuard() (probe.TreeConfig, func([]string) []string, error) {
	var cfg probe.TreeConfig
	if !m.opt.Guard {
		return cfg, nil, nil
	}
	var err error
	if m.watch, err = guard.NewWatchdog(0); err != nil {
		return cfg, nil, err
	}
	if reason := guard.Supported(); reason != nil {
		m.event(results.EventGuardSetup, "no cgroups (%v): watching available memory only, floor %d MiB", reason, m.watch.Floor>>20)
		return cfg, nil, nil
	}
	// The run ID is unique only within its results folder, and one process
	// may run several at once (a library caller; the package's tests):
	// the pid and a hash of the run's folder make the cgroup's name
	// unique on the machine, so that no run takes or removes another's
	// cgroups.
	name := guard.OwnedName(os.Getpid(), fmt.Sprintf("%s-%08x-%s", filepath.Base(m.dir), pathHash(m.dir), m.label))
	g, err := guard.New(name, guard.Limits{Memory: m.opt.MemLimit, Pids: int64(m.opt.PidsLimit)})
	if err != nil {
		return cfg, nil, fmt.Errorf("resource guard for %s: %w", m.label, err)
	}
	m.cgroup = g
	lim := g.Limits()
	m.event(results.EventGuardSetup, "cgroup limits: memory %d MiB, pids %d; machine floor: MemAvailable %d MiB", lim.Memory>>20, lim.Pids, m.watch.Floor>>20)
	cfg.CgroupProcs = filepath.Join(g.Dir("memory"), "cgroup.procs")
	cfg.CPUAcct = g.Dir("cpuacct")
	// With these the per-second sample reads only the cgroups' files, and
	// the per-process figures wait for a window's ends (modelDetail).
	cfg.Memory, cfg.Pids = g.Dir("memory"), g.Dir("pids")
	return cfg, func(argv []string) []string { return g.Wrap(m.opt.Exe, argv) }, nil
}

// guardTripped returns why the guard stops the model, or "".
func (m *measurement) guardTripped() string {
	if m.cgroup != nil {
		ev, u, err := m.cgroup.Check()
		m.probeFailed(results.ProbeCgroup, err)
		if err == nil && ev.Tripped() {
			msg := fmt.Sprintf("%s (peak %d MiB, %d tasks)", ev, u.MemoryMax>>20, u.Pids)
			mech := results.MechGuardMemory
			if ev.ForksRefused > 0 {
				mech = results.MechGuardPids
			}
			m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventGuard, Msg: msg, Mechanism: mech})
			return msg
		}
	}
	if m.watch != nil {
		st, err := m.watch.Check()
		m.probeFailed(results.ProbeWatchdog, err)
		if err == nil && st.Low() {
			msg := "machine memory low: " + st.String()
			m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventGuard, Msg: msg, Mechanism: results.MechGuardMemory})
			return msg
		}
	}
	return ""
}

func (m *measurement) teardown() {
	if m.sw != nil {
		// The model's reports from here on answer the swarm's own closing,
		// not load: the analysis leaves them out.
		m.event(results.EventTeardown, "the swarm closes its connections")
		m.sw.Stop()
	}
	if m.running != nil {
		if err := m.running.Stop(contract.StopBudget); err != nil {
			m.event(results.EventStopped, "%v", err)
		} else {
			m.event(results.EventStopped, "model stopped on SIGTERM")
		}
	}
	if m.cgroup != nil {
		if err := m.cgroup.Close(); err != nil {
			m.event(results.EventGuardSetup, "remove cgroups: %v", err)
		}
	}
	m.awaitQuiet()
	m.tl.Sync()
}

// awaitQuiet waits, bounded, until the kernel has freed the sockets this
// model's run opened. Closing 1,665,329 connections kept both CPUs busy
// long after the processes were gone, and the next model (101 instances)
// then failed to listen within its ready timeout.
func (m *measurement) awaitQuiet() {
	if m.peakOpen < quietFrom {
		return // freed as fast as they close; and other programs' sockets (tests in parallel) must not hold us
	}
	base := m.baseSys.TCPInUse + m.baseSys.TCPOrphan
	start := time.Now()
	for {
		sys, err := probe.ReadSystem()
		left := sys.TCPInUse + sys.TCPOrphan - base
		if err != nil || left <= quietSockets {
			if waited := time.Since(start); waited >= time.Second {
				m.event(results.EventStopped, "the kernel freed the run's sockets in %v", waited.Round(100*time.Millisecond))
			}
			return
		}
		if time.Since(start) >= quietMax {
			m.event(results.EventStopped, "%d sockets still open %v after the model stopped; going on", left, quietMax)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// awaitQuiet waits only after runs of quietFrom connections or more, until
// at most quietSockets remain (other programs' come and go), for at most
// quietMax.
const (
	quietFrom    = 100_000
	quietSockets = 1000
	quietMax     = 2 * time.Minute
)

func (m *measurement) measure(ctx context.Context) stopCause {
	var err error
	m.reportCounts = map[string]int64{}
	m.baseSys, err = probe.ReadSystem()
	if err != nil {
		return stopCause{stop: results.StopError, err: err}
	}
	m.treeCfg, m.wrap, err = m.setupGuard()
	if err != nil {
		return stopCause{stop: results.StopError, detail: err.Error(), err: err}
	}
	m.started = time.Now()
	if cause := m.startModel(ctx, true); cause != nil {
		return *cause
	}
	if cause := m.startSwarm(); cause != nil {
		return *cause
	}
	if m.opt.searching() {
		return m.search(ctx)
	}
	for i, p := range m.opt.plan() {
		st, cause := m.step(ctx, i, p)
		if st != nil {
			m.record(results.Record{Type: results.TypeStep, Step: st})
			m.tl.Sync()
		}
		if cause == nil {
			continue
		}
		// A hostile kind that the model did not weather is a finding; the
		// next kind is measured all the same, as long as the model lives.
		if p.kind != "" && cause.err == nil && (cause.stop == results.StopNotSustained || cause.stop == results.StopSwarm) {
			continue
		}
		return *cause
	}
	return stopCause{stop: results.StopTarget}
}

// startModel starts the model's instances and waits until they echo; the
// first start also runs the quick conformance check. It samples the model
// idle, the baseline of its memory and descriptors.
func (m *measurement) startModel(ctx context.Context, first bool) *stopCause {
	var err error
	m.running, err = model.Start(model.StartConfig{
		Wrap: m.wrap, NoFile: m.opt.ModelNoFile,
		Bin: m.bin, Name: m.label, Addr: m.opt.Addr, Backlog: m.opt.Backlog,
		Instances: m.instances(), Preset: m.spec.Preset, Env: append(slices.Clone(m.opt.ModelEnv), workEnv(m.spec, m.opt.MsgSize)...), CPUs: m.modelCPUs,
		OnReport: func(r results.ServerReport) {
			m.mu.Lock()
			m.reportCounts[r.Kind+":"+r.Errno] += r.Count
			m.mu.Unlock()
			m.record(results.Record{Type: results.TypeReport, Report: &r})
		},
	})
	if err != nil {
		m.event(results.EventExited, "%v", err)
		return &stopCause{stop: results.StopError, detail: err.Error(), err: err}
	}
	m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventStarted, Instances: m.instances(),
		Msg: fmt.Sprintf("%d instance(s), pids %v, pinned to CPUs %v", m.instances(), m.running.PIDs(), m.modelCPUs)})
	if err := m.running.WaitReady(ctx, m.opt.ReadyTimeout); err != nil {
		if ctx.Err() != nil {
			m.event(results.EventInterrupted, "interrupted while waiting for the model")
			return &stopCause{stop: results.StopInterrupted}
		}
		m.event(results.EventExited, "%v", err)
		return &stopCause{stop: results.StopError, detail: err.Error(), err: err}
	}
	if d := m.running.ReadyDelay(); d > m.opt.Deadline/10 {
		// Late, but an echo: measured, not refused, and said from the start.
		m.event(results.EventReady, "echoes on %s, late: the readiness probe came back after %v (the deadline is %v)",
			m.opt.Addr, d.Round(time.Millisecond), m.opt.Deadline)
	} else {
		m.event(results.EventReady, "echoes on %s", m.opt.Addr)
	}
	if first {
		if cause := m.conform(ctx); cause != nil {
			return cause
		}
	}
	cfg := m.treeCfg
	cfg.Roots = m.running.PIDs()
	m.tree = probe.NewTree(cfg)
	if p, err := m.tree.Detail(); err == nil {
		m.baseMem, m.idle = p.UserMemory(), p
	}
	return nil
}

// startSwarm starts the swarm's agents, sized for the most the run offers,
// and takes the baseline sample the next step's deltas start from: the
// model idle, the agents started, nothing offered yet.
func (m *measurement) startSwarm() *stopCause {
	maxStep := m.top
	for _, p := range m.opt.plan() {
		maxStep = max(maxStep, p.offered+p.hostile)
	}
	agentCfg := swarm.AgentConfig{
		Addr: m.opt.Addr, Interval: m.opt.Interval, Deadline: m.opt.Deadline,
		MsgSize: m.opt.MsgSize, ConnectTimeout: connectTimeout, MaxInFlight: 4096, NoFile: m.opt.AgentNoFile,
		RampDoubling: m.opt.RampDoubling,
	}
	swCfg := swarm.Config{
		Exe: m.opt.Exe, Agents: m.opt.Placement.Agents(ceilDiv(maxStep, m.perProcess)), TotalRate: m.opt.Rate,
		Agent: agentCfg, CPUs: m.swarmCPUs, Launchers: m.opt.Placement.Launchers(m.opt.Exe, m.swarmCPUs),
	}
	if pl := m.opt.Placement; pl.Dialers > 0 {
		// Nothing starts a dial-in agent but the user: say what to run,
		// one command line per agent (each has its index).
		for i := range pl.Dialers {
			m.event(results.EventAgentsWait, "waiting for agent %d of %d to dial %v; on a client host run (again for each model): c10klab %s",
				i+1, pl.Dialers, pl.Control.Addr(), strings.Join(swarm.DialBackArgs(swCfg.AgentConfig(i), pl.Control.Addr()), " "))
		}
	}
	var err error
	m.sw, err = swarm.Start(swCfg)
	if err != nil {
		return &stopCause{stop: results.StopError, detail: err.Error(), err: err}
	}
	// A local agent is the process the runner started, and starts none:
	// no scan of the machine's processes for its descendants.
	m.agents = probe.NewTree(probe.TreeConfig{Roots: m.sw.PIDs(), RootsOnly: true})
	m.last, _ = m.snapshot(-1, 0)
	m.last.Model = m.modelDetail(m.last.Model)
	// Recorded: the model's idle descriptors and memory are evidence for
	// the diagnosis (how many sockets it holds later).
	idle := m.last
	m.record(results.Record{Type: results.TypeSample, Sample: &idle})
	return nil
}

// restart stops the swarm and the model and starts both afresh, for a
// probe below a count that failed. A model that has just collapsed is not
// the model a user deploys: epoll, probed live at 32,000 right after it
// failed at 48,000, sustained 328, its listen queues still full of the
// collapse, where it holds 40,000 from a start. A fresh start costs the
// model's readiness and a ramp from nothing (measured: about 1 s and the
// ramp at --rate), bought once per probe below a failure.
func (m *measurement) restart(ctx context.Context, why string) *stopCause {
	m.event(results.EventRestart, "%s", why)
	m.sw.Stop()
	m.sw = nil
	if err := m.running.Stop(contract.StopBudget); err != nil {
		m.event(results.EventStopped, "%v", err)
	}
	m.running = nil
	m.awaitQuiet()
	if cause := m.startModel(ctx, false); cause != nil {
		return cause
	}
	return m.startSwarm()
}

// restartCost is what a restart adds to a probe's time besides its ramp:
// the swarm's and the model's stop and start and the model's readiness
// (about a second measured for most models; a slow starter pays more, and
// the budget check errs short by that).
const restartCost = 2 * time.Second

// search runs the capacity search (search.go): steps chosen by nextOffer
// from the steps so far, until it stops, the model's run ends or the
// budget would be overrun.
func (m *measurement) search(ctx context.Context) stopCause {
	var steps []results.Step
	lim := searchLimits{plan: m.opt.Steps, resolution: Resolution, top: m.top, topEnd: m.topEnd, topWhy: m.topWhy,
		cpus: len(m.modelCPUs), machineCPUs: cmp.Or(len(m.baseSys.PerCPU), runtime.NumCPU())}
	for i := 0; ; i++ {
		lim.capacity, lim.capWhy = m.machineCapacity(steps)
		if m.budget > 0 {
			// At least a nanosecond: 0 would read as no budget.
			lim.left = max(m.budget-time.Since(m.started), time.Nanosecond)
		}
		d := nextOffer(steps, lim)
		if d.next == 0 {
			return m.searchEnd(steps, d.end, d.why)
		}
		// Below a count that failed, the probe runs on a fresh model and
		// swarm (restart); above, the model goes on from where it is.
		fresh := len(steps) > 0 && d.next < steps[len(steps)-1].Offered && !steps[len(steps)-1].OK
		from := m.last.Swarm.Open
		if fresh {
			from = 0
		}
		if m.budget > 0 {
			need := searchStepTime(*m.opt, steps, from, d.next)
			if fresh {
				need += restartCost
			}
			if spent := time.Since(m.started); spent+need > m.budget {
				if d.confirm {
					// No room to measure the failure again: the bracket
					// stands as the steps so far have it.
					return m.searchEnd(steps, results.SearchBracketed, d.why)
				}
				end, why := budgetEnd(steps, fmt.Sprintf("%v of the %v budget spent; a step at %d offered would take about %v more",
					spent.Round(time.Second), m.budget.Round(time.Second), d.next, need.Round(time.Second)))
				return m.searchEnd(steps, end, why)
			}
		}
		if fresh {
			last := steps[len(steps)-1]
			if cause := m.restart(ctx, fmt.Sprintf("a fresh model and swarm for the probe at %d offered, below the failure at %d", d.next, last.Offered)); cause != nil {
				cause.search, cause.searchDetail = results.SearchEnded, "the model did not start again: "+cause.detail
				return *cause
			}
		}
		st, cause := m.step(ctx, i, planned{offered: d.next})
		if st != nil {
			st.Search = !slices.Contains(m.opt.Steps, d.next)
			st.Fresh = fresh
			m.record(results.Record{Type: results.TypeStep, Step: st})
			m.tl.Sync()
			steps = append(steps, *st)
		}
		// A step that failed, the model's doing or the swarm's, is a side
		// of the bracket; anything else ends the model's run.
		if cause != nil && (cause.err != nil || st == nil || cause.stop != results.StopNotSustained && cause.stop != results.StopSwarm) {
			cause.search, cause.searchDetail = results.SearchEnded, string(cause.stop)
			if cause.detail != "" {
				cause.searchDetail += ": " + cause.detail
			}
			return *cause
		}
	}
}

// searchEnd is the model's end once its search stopped: the stop of its
// smallest failure above the capacity (not sustained, or the swarm's),
// else the target reached, with how the search ended.
func (m *measurement) searchEnd(steps []results.Step, end results.SearchEnd, why string) stopCause {
	c := stopCause{stop: results.StopTarget, search: end, searchDetail: why}
	b := analysis.BracketOf(steps, results.StopNotSustained)
	for _, st := range steps {
		switch {
		case b.Failed > 0 && st.Offered == b.Failed && analysis.Trusted(st):
			c.stop, c.detail = results.StopNotSustained, st.Why
		case b.Failed == 0 && b.Untrusted > 0 && st.Offered == b.Untrusted && !analysis.Trusted(st):
			c.stop, c.detail = results.StopSwarm, st.Untrusted
		}
	}
	m.event(results.EventSearch, "capacity search: %s (%s)", end, why)
	return c
}

// machineCapacity is what the machine's limits allow the model, estimated
// from the largest sustained step so far (search.go's machineCapacity).
func (m *measurement) machineCapacity(steps []results.Step) (int, string) {
	b := analysis.BracketOf(steps, results.StopNotSustained)
	if b.SustainedStep < 0 {
		return 0, ""
	}
	var tasks, memFree int64
	if m.cgroup != nil {
		tasks = m.cgroup.Limits().Pids
	}
	if m.watch != nil && m.last.System.MemAvailable > 0 {
		memFree = max(1, m.last.System.MemAvailable-m.watch.Floor)
	}
	return machineCapacity(steps[b.SustainedStep], m.idle, tasks, memFree)
}

// sample takes one second's sample, records it and returns the latency
// histogram of the echoes reported in it.
func (m *measurement) sample(index, offered int) *hdr.Histogram {
	s, h := m.snapshot(index, offered)
	if sr := m.current; sr != nil && sr.index == index {
		s.Phase = sr.phase.String()
	}
	m.last = s
	m.peakOpen = max(m.peakOpen, s.Swarm.Open)
	m.stepLagMs = max(m.stepLagMs, s.Swarm.LagMaxMs)
	m.record(results.Record{Type: results.TypeSample, Sample: &s})
	return h
}

// String names a step's phase as samples record it (results.Sample.Phase).
func (p phase) String() string {
	switch p {
	case ramping:
		return "ramp"
	case settling:
		return "settle"
	case judging:
		return "window"
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// snapshot reads the swarm, the model's and the agents' processes and the
// system, and what that cost.
func (m *measurement) snapshot(index, offered int) (results.Sample, *hdr.Histogram) {
	sw, h := m.sw.Collect()
	s := results.Sample{
		Time: time.Now(), Elapsed: time.Since(m.started).Seconds(),
		Step: index, Offered: offered, Swarm: sw,
	}
	// The system first, at s.Time: sampling a model of 40,000 processes
	// takes most of a second, and the machine's CPU counters read after it
	// were divided by a window they did not span (a CPU "1.22 busy").
	if sys, err := probe.ReadSystem(); err == nil {
		s.System = sys
	} else {
		m.probeFailed(results.ProbeSystem, err)
	}
	if p, err := m.tree.Sample(); err == nil {
		s.Model = p
	} else {
		m.probeFailed(results.ProbeModel, err)
	}
	if m.agents != nil {
		if p, err := m.agents.Sample(); err == nil {
			s.Agents = p
		} else {
			m.probeFailed(results.ProbeAgents, err)
		}
	}
	s.SampleCost = time.Since(s.Time).Seconds()
	s.RunnerCPU, _ = probe.SelfCPU()
	return s, h
}

// modelDetail returns p with the model's per-process figures (descriptors,
// RSS, PSS), read now within their time budget, when p came from the
// cgroups without them: for the idle baseline and a step's record, where
// the diagnosis reads them (heldSockets, the idle descriptors). A sample
// from the walk has them already.
func (m *measurement) modelDetail(p results.Proc) results.Proc {
	if !p.NoDetail {
		return p
	}
	d, err := m.tree.Detail()
	if err != nil {
		return p
	}
	return d
}

// ours is the model's and the agents' processes now: what else ran on the
// machine is everything but these. Under the guard the model's are its
// cgroup's list, one read.
func (m *measurement) ours() map[int]bool {
	ours := map[int]bool{}
	for _, t := range []*probe.Tree{m.tree, m.agents} {
		if t == nil {
			continue
		}
		if pids, err := t.PIDs(); err == nil {
			for _, p := range pids {
				ours[p] = true
			}
		}
	}
	return ours
}

// snapshotCPU takes every process's CPU time but ours (the model's and
// the agents', from m.ours), for others.
func (m *measurement) snapshotCPU(ours map[int]bool) (probe.CPUByProcess, error) {
	return probe.SnapshotCPU(func(pid int) bool { return ours[pid] })
}

// recordExit records a model instance that exited by itself, with the
// evidence that tells a crash from a kill by the memory guard or the
// kernel's OOM killer: the cgroup's counters under the guard, else the
// machine's OOM kills since the model started.
func (m *measurement) recordExit(e model.Exit) {
	x := &results.Exit{PID: e.PID, Code: e.Code, OOMKills: -1, Stderr: e.Stderr}
	if e.Signaled {
		x.Signal = unix.SignalName(e.Signal)
	}
	if m.cgroup != nil {
		if u, err := m.cgroup.Usage(); err == nil {
			x.OOMKills, x.MemoryAtLimit = u.OOMKills, u.MemoryFailcnt > 0
		}
	} else if before, ok := m.baseSys.Counters[probe.OOMKillCounter]; ok {
		if after, ok := m.last.System.Counters[probe.OOMKillCounter]; ok {
			x.OOMKills = after - before
		}
	}
	m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventExited, Msg: e.String(), Exit: x})
}

// pathHash is a short hash of a path (FNV-1a, 32 bits), for names that
// must differ where the paths do.
func pathHash(p string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(p))
	return h.Sum32()
}
