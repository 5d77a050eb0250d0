package diagnose

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"c10klab/runner/internal/results"
)

// evidence is what the rules read: the run's records and the figures
// derived from its first failing step, each computed once.
type evidence struct {
	in    Input
	at    int           // the capacity the analysis found
	first *results.Step // the first step that failed the model; nil when none did
	// Of the first failing step (zero when there is none):
	fails results.FailCounts // the clients' failures by class
	total int64              // their sum
	held  int                // sockets the model's processes held
	queue queueFigures       // the kernel's listen-queue counters
	sat   saturation         // the model's use of its own CPUs
	share cpuShare           // who used the CPUs the model ran on
	wait  waitFigures        // the model's threads queued for a CPU
	stall stallFigures       // tasks waited on memory
}

// gather reads the records once.
func gather(in Input) *evidence {
	ev := &evidence{in: in, at: in.Capacity, first: firstFailing(in)}
	st := ev.first
	if st == nil {
		return ev
	}
	ev.fails = results.ParseFailCounts(st.Failures)
	ev.total = ev.fails.Total()
	ev.held = heldSockets(in, st)
	ev.queue = queueFigures{overflows: st.Counters["TcpExt.ListenOverflows"], synDrops: st.Counters["TcpExt.TCPReqQFullDrop"]}
	ev.sat = saturationOf(in, st)
	ev.share = cpuShareOf(in, st)
	ev.wait = waitOf(in, st)
	ev.stall = stallOf(st)
	return ev
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

// resets counts the failures that mean the server reset the connection.
func (ev *evidence) resets() int64 {
	f := ev.fails
	return f[results.FailReadReset] + f[results.FailWriteReset] + f[results.FailWritePipe]
}

// mostly reports whether failures of class k are at least half of all the
// step's failures, and there are some.
func (ev *evidence) mostly(k results.FailKey) bool {
	return ev.fails[k] > 0 && ev.fails[k]*2 >= ev.total
}

// unaccepted: the clients hold connections the model's processes do not,
// which the kernel completed into the listen queue, and they failed.
func (ev *evidence) unaccepted() bool {
	st := ev.first
	waiting := st.Open - ev.held
	return ev.total > 0 && waiting > max(2, st.Open/20)
}

// holdsAllDeadlines: the model holds (nearly) every open connection and
// the clients' failures are mostly missed deadlines.
func (ev *evidence) holdsAllDeadlines() bool {
	f, st := ev.fails, ev.first
	return f[results.FailDeadline] > 0 && f[results.FailDeadline]*2 >= ev.total && st.Open > 0 && ev.held >= st.Open*9/10
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

// deadlineMs is the run's deadline in milliseconds.
func (ev *evidence) deadlineMs() float64 {
	return float64(ev.in.Config.Deadline) / float64(time.Millisecond)
}

// due is the echoes that fell due in the first failing step's window.
func (ev *evidence) due() float64 {
	return results.DueEchoes(ev.first, ev.in.Config.Interval)
}

// pooled: the model holds (nearly) every open connection, the clients'
// failures are missed deadlines, and the echoes that came back were about
// the sustained connections' own: a fixed number served whole, the rest
// not at all (a slow model's late echoes spread over every connection).
func (ev *evidence) pooled() bool {
	first, cfg := ev.first, ev.in.Config
	if first.Sustained == 0 || !ev.holdsAllDeadlines() {
		return false
	}
	if float64(first.Sustained) >= cfg.SustainRatio*float64(first.Offered) {
		return false
	}
	// The echoes that came were on time: a pool serves its own promptly.
	// A model short of CPU or memory answers late, across the board.
	if cfg.Deadline <= 0 || first.Latency.Count == 0 || first.Latency.P99 > ev.deadlineMs() {
		return false
	}
	ownDue := ev.due() * float64(first.Sustained) / float64(first.Open)
	return float64(first.Echoes) <= 1.25*ownDue+float64(first.Open)/100
}

// lateEchoes: the model holds (nearly) every open connection and nearly
// every echo due came back, intact, but past the deadline: a handler that
// answers every message late (a slow backend), not one that drops them.
func (ev *evidence) lateEchoes() bool {
	first := ev.first
	if ev.in.Config.Deadline <= 0 || !ev.holdsAllDeadlines() || first.Latency.Count == 0 {
		return false
	}
	return float64(first.Echoes) >= 0.8*ev.due() && first.Latency.P50 > ev.deadlineMs()
}

// silentHolding: the model holds (nearly) every open connection, the
// clients' failures are missed deadlines, and most echoes due in the
// window never came back — a slow model's come back, late.
func (ev *evidence) silentHolding() bool {
	return ev.holdsAllDeadlines() && float64(ev.first.Echoes) < 0.6*ev.due()
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

// idleFDs is the model's descriptors before any connection: the fewest
// among the samples taken before the swarm's first connection (the first
// of them can still count the readiness probe's connection, which the
// model closes once it reads the probe's EOF).
func idleFDs(samples []results.Sample) int {
	idle := 0
	for i, s := range samples {
		if s.Swarm.Open != 0 {
			break
		}
		if i == 0 || s.Model.FDs < idle {
			idle = s.Model.FDs
		}
	}
	return idle
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

// queueFigures are the kernel's counts of a listen queue's overflows in a
// step.
type queueFigures struct {
	overflows int64 // TcpExt.ListenOverflows
	synDrops  int64 // TcpExt.TCPReqQFullDrop
}

func (q queueFigures) any() bool { return q.overflows > 0 || q.synDrops > 0 }

// saturation is the model's use of its own CPUs over a step's window.
type saturation struct {
	busy float64 // CPUs used on average
	cpus int     // CPUs it had: its pinning, else the machine's
	full bool    // it used 90% of them or more
}

// modelCPUs is how many CPUs the model had: those it was pinned to, else
// the machine's.
func modelCPUs(in Input) int {
	cpus := len(in.Config.ModelCPUs)
	if cpus <= 0 {
		cpus = max(in.Env.CPUs, 1)
	}
	return cpus
}

func saturationOf(in Input, st *results.Step) saturation {
	if st.HoldSeconds <= 0 {
		return saturation{}
	}
	s := saturation{busy: modelBusy(st), cpus: modelCPUs(in)}
	s.full = s.busy >= 0.9*float64(s.cpus)
	return s
}

// modelBusy is the CPUs the model used on average over the window.
func modelBusy(st *results.Step) float64 {
	return st.Model.CPU() / st.HoldSeconds
}

// MachineShare is how much of each of the model's CPUs unrelated work
// must be shown to have taken before a step is the machine's limit rather
// than the model's (README, "When the machine is the limit"). In run
// 20261203-135643 the model's own CPU time plus the softirqs on its CPU
// disagreed with that CPU's busy time (/proc/stat) by up to 0.45 CPU
// (p90 0.22, 98 steps) either way: a smaller share is inside the
// accounting's own error.
const MachineShare = 0.5

// cpuShare is who used the CPUs the model ran on over a step's window,
// in CPUs: the model, the softirqs delivering its traffic, c10klab's own
// agents and runner, and unrelated work. With the model pinned they are
// its CPUs (/proc/stat per CPU); else the whole machine, when the swarm
// shares it.
type cpuShare struct {
	pinned  []int   // the model's CPUs; nil: the whole machine
	cpus    int     // CPUs counted in busy
	mine    int     // CPUs the model had
	full    bool    // those CPUs were (nearly) all busy while the model got less than its own
	busy    float64 // CPUs busy
	model   float64
	softirq float64 // on the model's CPUs (pinned only): its traffic's delivery, the model's
	agents  float64 // c10klab's agents, on the whole machine
	runner  float64 // c10klab's runner, on the whole machine
	// rest is busy less the model and its softirqs: pinned, the agents,
	// the runner and unrelated work; on the whole machine, the kernel and
	// unrelated work, the agents and the runner taken out.
	rest float64
	// own is how much of rest c10klab's agents and runner could have
	// used: at most rest, at most all they used (the agents none when
	// pinned apart from the model).
	own float64
	// unrelated is the least that named work outside c10klab must have
	// taken of the model's CPUs: what rest leaves once c10klab's own is
	// counted in full, and no more than the named processes used there.
	unrelated float64
	others    []results.ProcCPU // named processes outside the model and c10klab, busiest first
	hold      float64
	// need is the CPU the model needed to echo everything due in the
	// window at the CPU per echo it spent; 0 when it echoed nothing.
	need    float64
	perEcho float64 // the model's CPU seconds per echo in the window
}

func cpuShareOf(in Input, st *results.Step) cpuShare {
	if st.HoldSeconds <= 0 {
		return cpuShare{}
	}
	h := st.HoldSeconds
	s := cpuShare{model: modelBusy(st), agents: st.AgentsCPU / h, runner: max(0, st.RunnerCPU) / h, hold: h}
	for _, o := range st.Others {
		if !strings.HasSuffix(o.Comm, results.RunnerMark) {
			s.others = append(s.others, o)
		}
	}
	if st.Echoes > 0 {
		s.perEcho = st.Model.CPU() / float64(st.Echoes)
		s.need = s.perEcho * results.DueEchoes(st, in.Config.Interval) / h
	}
	switch pinned := in.Config.ModelCPUs; {
	case len(pinned) > 0 && st.ModelCPUBusy > 0:
		s.pinned, s.cpus, s.mine = pinned, len(pinned), len(pinned)
		s.busy, s.softirq = st.ModelCPUBusy/h, st.ModelCPUSoftirq/h
		s.rest = max(0, s.busy-s.model-s.softirq)
		// Agents pinned apart cannot have run there; the runner may have.
		ours := s.runner
		if sharesCPUs(pinned, in.Config.SwarmCPUs) {
			ours += s.agents
		}
		s.own = min(s.rest, ours)
		s.unrelated = min(s.rest-s.own, namedOn(s.others, pinned, h))
	case st.MachineCPU > 0 && in.Env.CPUs > 0 && sharesCPUs(pinned, in.Config.SwarmCPUs):
		s.cpus, s.mine = in.Env.CPUs, cmp.Or(len(pinned), in.Env.CPUs)
		s.busy = st.MachineCPU / h
		s.rest = max(0, s.busy-s.model-s.agents-s.runner)
		s.own = s.agents + s.runner
		s.unrelated = min(s.rest, namedOn(s.others, nil, h))
	default:
		return cpuShare{}
	}
	s.full = s.busy >= 0.9*float64(s.cpus) && s.model < 0.9*float64(s.mine)
	return s
}

// machineLimit: named unrelated work took MachineShare of each of the
// model's CPUs or more, and without it the model would have had the CPU
// its load needed at its own cost per echo.
func (s cpuShare) machineLimit() bool {
	return s.full && s.unrelated >= MachineShare*float64(s.mine) && s.need > s.model && s.need <= s.model+s.unrelated
}

// modelFull: the model and the softirqs delivering its traffic used
// (nearly) all of its CPUs by themselves.
func (s cpuShare) modelFull() bool {
	return s.pinned != nil && s.model+s.softirq >= 0.9*float64(s.mine)
}

// namedOn is the CPUs the named processes used that could have run on
// cpus (nil: any): a kernel worker bound to another CPU (kworker/1:2 for
// CPU 1) could not, and ksoftirqd runs the softirqs, counted apart.
func namedOn(others []results.ProcCPU, cpus []int, hold float64) float64 {
	var t float64
	for _, o := range others {
		if strings.HasPrefix(o.Comm, "ksoftirqd/") {
			continue
		}
		if cpu, ok := boundCPU(o.Comm); ok && cpus != nil && !slices.Contains(cpus, cpu) {
			continue
		}
		t += o.CPU / hold
	}
	return t
}

// boundCPU is the CPU a per-CPU kernel worker runs on, from its name
// ("kworker/1:2-events" is CPU 1's; "kworker/u8:3" is unbound).
func boundCPU(comm string) (int, bool) {
	rest, ok := strings.CutPrefix(comm, "kworker/")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, false
	}
	cpu, err := strconv.Atoi(num)
	return cpu, err == nil
}

// waitFigures: the model's threads spent a tenth of the window or more,
// per CPU of the model, runnable but waiting for a CPU.
type waitFigures struct {
	queued bool // the case holds
	wait   float64
	hold   float64
}

func waitOf(in Input, st *results.Step) waitFigures {
	cpus := max(len(in.Config.ModelCPUs), 1)
	if st.HoldSeconds <= 0 || st.ModelWait < 0.1*float64(cpus)*st.HoldSeconds {
		return waitFigures{}
	}
	return waitFigures{queued: true, wait: st.ModelWait, hold: st.HoldSeconds}
}

// stallFigures: tasks on the machine waited on memory (reclaim, refaults)
// for a tenth of the window or more.
type stallFigures struct {
	stalled bool
	stall   float64
	hold    float64
}

func stallOf(st *results.Step) stallFigures {
	if st.HoldSeconds <= 0 || st.MemStall < 0.1*st.HoldSeconds {
		return stallFigures{}
	}
	return stallFigures{stalled: true, stall: st.MemStall, hold: st.HoldSeconds}
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

// OthersOn is, by the diagnosis's own rules (namedOn), the named processes
// outside the model and c10klab that could have run on cpus (nil: any),
// busiest first, each with its CPU over the window in CPUs, and their sum:
// what c10klab compare names as the machine's noise on the model's CPUs.
func OthersOn(others []results.ProcCPU, cpus []int, hold float64) (float64, []results.ProcCPU) {
	if hold <= 0 {
		return 0, nil
	}
	var sum float64
	var named []results.ProcCPU
	for _, o := range others {
		if strings.HasSuffix(o.Comm, results.RunnerMark) {
			continue
		}
		cpu := namedOn([]results.ProcCPU{o}, cpus, hold)
		if cpu <= 0 {
			continue
		}
		sum += cpu
		named = append(named, results.ProcCPU{PID: o.PID, Comm: o.Comm, CPU: cpu})
	}
	return sum, named
}
