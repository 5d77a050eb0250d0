// Package results is c10klab's data model on disk: the run record
// (run.json), one JSON-lines timeline per model (<model>.jsonl) and one
// summary per model (<model>.summary.json). Measurement code produces these
// values; reports and plots only read them, so any run can be drawn again.
package results

import "time"

// Run is run.json: what was asked for and on what machine.
type Run struct {
	ID       string            `json:"id"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished,omitzero"` // zero: the run did not finish (crash or still running)
	Command  []string          `json:"command"`
	Config   Config            `json:"config"`
	Env      Environment       `json:"env"`
	Versions map[string]string `json:"versions"`
	Models   []string          `json:"models"` // in the order measured
	// Families names each measured model's kind ("Go reactor"), from its
	// folder's family file, so reports group and colour them.
	Families map[string]string `json:"families,omitempty"`
	Outcome  string            `json:"outcome,omitempty"`
	// Format is the version of the folder's layout. From FormatAnalysis on,
	// run.json and the timelines hold every input of the analysis, so the
	// verdicts, summaries and diagnoses can be computed again from the
	// files alone; older folders keep the summaries they were written with.
	Format int `json:"format,omitempty"`
}

// FormatAnalysis is the first layout whose folders can be analysed again.
const FormatAnalysis = 2

// Config is the run's settings. Every setting a user gives is declared
// once, in one of the groups below, which bench.Options embeds as well;
// Config adds what the run resolved from them (the models' labels, the
// address as text, the connections per agent). The groups are embedded in
// the order their fields always had, so run.json keeps its keys and their
// order.
type Config struct {
	Models []string `json:"models"`
	StepPlan
	SearchBounds
	Messages
	Instances
	Judging
	Addr          string `json:"addr"`
	ConnsPerAgent int    `json:"conns_per_agent"`
	Processes
	GuardLimits
	Pacing
	HostileSteps
}

// StepPlan is the planned steps: how many connections each offers, how fast
// they open and how long a step holds them.
type StepPlan struct {
	Steps []int `json:"steps"` // offered connections per step, ascending
	Rate  int   `json:"rate"`  // connections opened per second, whole swarm
	// RampDoubling: ramps began doubling the count held this often, from
	// 1,000, up to Rate (0: at Rate throughout).
	RampDoubling time.Duration `json:"ramp_doubling,omitempty"`
	Hold         time.Duration `json:"hold"` // time each step holds its connections before it is evaluated
}

// SearchBounds is the capacity search: whether it runs from the planned
// steps, up to MaxOffered connections, within Budget a model. In a run's
// Config, Search says whether it ran (bench.Options.searching).
// ShareBudget makes Budget each model's share of the run's budget (Budget
// times the measurements), what a model leaves unspent going to the ones
// after it (bench.Options.modelBudget).
type SearchBounds struct {
	Search      bool          `json:"search,omitempty"`
	MaxOffered  int           `json:"max_offered,omitempty"`
	Budget      time.Duration `json:"budget,omitempty"`
	ShareBudget bool          `json:"share_budget,omitempty"`
}

// Messages is what each connection sends and how late its echo may be.
type Messages struct {
	Interval time.Duration `json:"interval"`
	Deadline time.Duration `json:"deadline"`
	MsgSize  int           `json:"msg_size"`
}

// Instances is how many model instances run and on which CPUs the model
// and the swarm run. In a run's Config, the CPU lists are those used; as a
// setting, they override the default split (an empty, non-nil list leaves
// that side unpinned).
type Instances struct {
	Procs     int   `json:"procs"` // model instances; 0 = as many as the open-files limit requires
	Pin       bool  `json:"pin"`
	ModelCPUs []int `json:"model_cpus,omitempty"`
	SwarmCPUs []int `json:"swarm_cpus,omitempty"`
}

// Judging is what a step must reach to count as sustained.
type Judging struct {
	SustainRatio float64 `json:"sustain_ratio"` // sustained ≥ this × offered
}

// Processes is what the models and the agents were started with, for
// the diagnosis.
type Processes struct {
	Backlog     int      `json:"backlog"`                // C10K_BACKLOG asked for (0: each model's default)
	ModelNoFile int      `json:"model_nofile,omitempty"` // open-files limit the run set on each instance (0: the environment's)
	AgentNoFile int      `json:"agent_nofile,omitempty"` // the same for each agent
	ModelEnv    []string `json:"model_env,omitempty"`    // extra KEY=VALUE given to every model
}

// GuardLimits is the resource guard's settings.
type GuardLimits struct {
	Guard     bool  `json:"guard"`                // the resource guard watched the models
	MemLimit  int64 `json:"mem_limit,omitempty"`  // guard memory limit asked for, bytes (0: default)
	PidsLimit int   `json:"pids_limit,omitempty"` // guard tasks limit asked for (0: default)
}

// Pacing is how often each model is measured and how long a step may
// settle.
type Pacing struct {
	Repeat    int           `json:"repeat,omitempty"`     // each model measured this many times (0, 1: once)
	SettleMax time.Duration `json:"settle_max,omitempty"` // bound on a step's settle (0: the connect timeout plus two intervals)
}

// HostileSteps are the hostile kinds run after the last step, HostileShare
// of its count each.
type HostileSteps struct {
	Hostile      []string `json:"hostile,omitempty"`
	HostileShare float64  `json:"hostile_share,omitempty"`
}

// Environment is the machine and every limit that can cap a result.
type Environment struct {
	Kernel       string   `json:"kernel"`
	CPUs         int      `json:"cpus"`
	MemTotal     int64    `json:"mem_total"`
	MemAvailable int64    `json:"mem_available"`
	PageSize     int      `json:"page_size"`
	Root         bool     `json:"root"`
	Limits       []Limit  `json:"limits"`
	Warnings     []string `json:"warnings,omitempty"`
}

// Limit is one system or process limit.
type Limit struct {
	Name  string `json:"name"`  // e.g. "open files (soft)"
	Value string `json:"value"` // as read
	// Conns is how many connections this limit allows one process (or the
	// machine) to hold, where that can be said; 0 when it does not cap
	// connections directly.
	Conns int    `json:"conns,omitempty"`
	Scope string `json:"scope"`           // "process" or "system"
	Raise string `json:"raise,omitempty"` // the command that raises it
}

// Record is one line of <model>.jsonl. Exactly one payload is set.
type Record struct {
	Type   string        `json:"type"` // "sample", "step", "report", "event"
	Sample *Sample       `json:"sample,omitempty"`
	Step   *Step         `json:"step,omitempty"`
	Report *ServerReport `json:"report,omitempty"`
	Event  *Event        `json:"event,omitempty"`
}

// Record types.
const (
	TypeSample = "sample"
	TypeStep   = "step"
	TypeReport = "report"
	TypeEvent  = "event"
)

// Sample is what the runner saw in about one second of a step.
type Sample struct {
	Time    time.Time `json:"time"`
	Elapsed float64   `json:"elapsed"` // seconds since the model started
	Step    int       `json:"step"`
	Offered int       `json:"offered"`
	Swarm   Swarm     `json:"swarm"`
	Model   Proc      `json:"model"`  // the model's whole process tree
	Agents  Proc      `json:"agents"` // the swarm agents' processes
	System  System    `json:"system"`
	// Phase is the part of the step the second belonged to: "ramp",
	// "settle" or "window" (empty before the first step, and in runs
	// recorded before it existed). The terminal's live line shows it.
	Phase string `json:"phase,omitempty"`
	// SampleCost is the seconds this sample took to read (the system, the
	// model, the agents): the one-second rhythm holds while it stays well
	// under a second.
	SampleCost float64 `json:"sample_cost,omitempty"`
	// RunnerCPU is the CPU seconds the runner's own process had used when
	// the sample was taken (getrusage RUSAGE_SELF), cumulative.
	RunnerCPU float64 `json:"runner_cpu,omitempty"`
}

// Swarm is the client side, summed over agents.
type Swarm struct {
	SwarmCounters
	LagMaxMs float64     `json:"lag_max_ms"` // worst lag behind the send schedule in this second
	Latency  Percentiles `json:"latency"`    // echoes completed in this second
	// Hostile is the misbehaving connections (bench --hostile), counted
	// apart from everything above, which is the well-behaved ones'.
	Hostile *Hostile `json:"hostile,omitempty"`
}

// Hostile is what the swarm's misbehaving connections did: cumulative in
// a sample, deltas over the step in a step.
type Hostile struct {
	Kind    string `json:"kind"`
	Offered int    `json:"offered"`
	Open    int    `json:"open"`
	// Cycles: connections that ended as the kind intends (reset, churned,
	// half-closed) and opened again.
	Cycles   int64            `json:"cycles,omitempty"`
	Failures map[string]int64 `json:"failures,omitempty"` // provoked by the misbehaviour, not the server's
}

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Proc is a process tree's resource use, its CPU seconds cumulative (a
// sample's totals; a step's is a ProcDelta).
type Proc struct {
	Procs   int     `json:"procs"`
	Threads int     `json:"threads"`
	FDs     int     `json:"fds"`
	RSS     int64   `json:"rss"`      // bytes
	PSS     int64   `json:"pss"`      // bytes; shared pages divided among sharers
	CPUUser float64 `json:"cpu_user"` // seconds, cumulative
	CPUSys  float64 `json:"cpu_sys"`  // seconds, cumulative
	// Mem is the user memory the model's memory cgroup charges it, every
	// page once (memory.stat total_rss + total_mapped_file); 0 without the
	// guard's cgroups. See UserMemory.
	Mem int64 `json:"mem,omitempty"`
	// NoDetail: the per-process figures (FDs, RSS, PSS) were not read: a
	// per-second sample through the model's cgroups, where they are zero
	// because unmeasured, not because there are none. They are read at a
	// step's window ends and before the first step.
	NoDetail bool `json:"no_detail,omitempty"`
	// Unread is how many processes the per-process reads left unread when
	// their time budget ran out: FDs, RSS and PSS count those at the mean
	// of the processes read, an estimate. 0: every process read.
	Unread int `json:"unread,omitempty"`
}

// CPU is the CPU seconds used in all, user and system.
func (p Proc) CPU() float64 { return p.CPUUser + p.CPUSys }

// UserMemory is the model's user memory with every page counted once, one
// series across a run: the cgroup's charge (Mem) when the guard's cgroups
// measured it, each second; else PSS.
func (p Proc) UserMemory() int64 {
	if p.Mem > 0 {
		return p.Mem
	}
	return p.PSS
}

// ProcDelta is the model in a step's record: its processes, threads,
// descriptors and memory as at the step's end, and its CPU seconds
// (CPUUser, CPUSys) over the step's window, where a sample's Proc has them
// cumulative. A type of its own, with Proc's fields and JSON, so that the
// compiler refuses a window's CPU where a total is wanted and the reverse.
type ProcDelta Proc

// Since is p with the CPU seconds used since earlier instead of those used
// in all: what a step records of a process tree sampled at its window's
// start (earlier) and end (p).
func (p Proc) Since(earlier Proc) ProcDelta {
	d := ProcDelta(p)
	d.CPUUser -= earlier.CPUUser
	d.CPUSys -= earlier.CPUSys
	return d
}

// UserMemory is Proc.UserMemory: memory is a level, the same in a delta.
func (p ProcDelta) UserMemory() int64 { return Proc(p).UserMemory() }

// CPU is the CPU seconds used over the window, user and system.
func (p ProcDelta) CPU() float64 { return Proc(p).CPU() }

// System is the kernel's view.
type System struct {
	MemAvailable int64 `json:"mem_available"`
	Slab         int64 `json:"slab"`
	SUnreclaim   int64 `json:"sunreclaim"`
	TCPInUse     int64 `json:"tcp_inuse"`
	TCPOrphan    int64 `json:"tcp_orphan"`
	TCPTimeWait  int64 `json:"tcp_tw"`
	TCPMem       int64 `json:"tcp_mem"` // bytes (sockstat "mem" pages × page size)
	// CPUBusy is the seconds all the machine's CPUs spent busy (not idle
	// or iowait, /proc/stat), cumulative.
	CPUBusy float64 `json:"cpu_busy,omitempty"`
	// PerCPU is the same per CPU, indexed by CPU number, with the time
	// each spent in softirqs (where loopback and NIC packets are
	// delivered), cumulative.
	PerCPU []CPUTime `json:"per_cpu,omitempty"`
	// MemStall is the seconds some task waited on memory (reclaim,
	// refaults: /proc/pressure/memory "some"), cumulative.
	MemStall float64 `json:"mem_stall,omitempty"`
	// Counters from /proc/net/netstat and /proc/net/snmp, cumulative, keyed
	// "TcpExt.ListenOverflows", "Tcp.EstabResets"...
	Counters map[string]int64 `json:"counters,omitempty"`
}

// ProcCPU is one process's CPU seconds over a window.
type ProcCPU struct {
	PID  int     `json:"pid"`
	Comm string  `json:"comm"`
	CPU  float64 `json:"cpu"`
}

// CPUTime is one CPU's busy and softirq seconds (/proc/stat).
type CPUTime struct {
	Busy    float64 `json:"busy"`
	Softirq float64 `json:"softirq"`
}

// Step is the evaluation at the end of one step.
type Step struct {
	Index     int       `json:"index"`
	Offered   int       `json:"offered"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Open      int       `json:"open"`
	Sustained int       `json:"sustained"`
	OK        bool      `json:"ok"` // sustained ≥ sustain ratio × offered
	// Cut: the step ended before its hold did (the model exited, the guard
	// stopped it, or the run was interrupted).
	Cut bool `json:"cut,omitempty"`
	StepFailures
	StepTiming
	// Hostile, in a step of bench --hostile, is what the misbehaving
	// connections did; everything else in the step is the well-behaved
	// connections'.
	Hostile *Hostile `json:"hostile,omitempty"`
	// WindowStart is when the evaluation window began (zero: none did).
	WindowStart time.Time `json:"window_start,omitzero"`
	// Why says, for a step that is not OK, what failed it: see Why*.
	Why string `json:"why,omitempty"`
	// Window is true when Sustained counts connections served through the
	// whole evaluation window (every echo due in it back intact and on
	// time); older folders counted the connections on time at the end.
	Window bool `json:"window,omitempty"`
	StepCost
	Counters map[string]int64 `json:"counters,omitempty"` // deltas over the step
	StepTrust
	StepSearch
}

// StepFailures is what failed during a step, counted over the whole step
// (deltas): on the server's side, on the swarm's own, and as the model
// reported itself.
type StepFailures struct {
	// Failures and ClientFailures during this step (deltas).
	Failures       map[string]int64 `json:"failures,omitempty"`
	ClientFailures map[string]int64 `json:"client_failures,omitempty"`
	// ServerReports counts the model's own reports during this step by
	// "kind:ERRNO" (e.g. "accept:EMFILE").
	ServerReports map[string]int64 `json:"server_reports,omitempty"`
}

// StepTiming is how long a step's echoes took, in its evaluation window
// and, apart, in its ramp and settle, and how long those two lasted.
type StepTiming struct {
	// Latency is the evaluation window's: echoes that came back in it.
	Latency Percentiles `json:"latency"`
	// RampLatency is the echoes of the ramp and the settle, kept apart.
	RampLatency Percentiles `json:"ramp_latency,omitzero"`
	// RampSeconds is how long opening the new connections took, and
	// SettleSeconds how long after that until the model served every open
	// connection on time (resolution: the one-second sampling). Settled is
	// false when the settle hit its bound and the window began anyway.
	RampSeconds   float64 `json:"ramp_seconds"`
	SettleSeconds float64 `json:"settle_seconds"`
	Settled       bool    `json:"settled"`
}

// StepCost is what a step cost the model and the machine. Echoes, the
// model's CPU and AgentsCPU are counted over the evaluation window, the
// steady state after the settle, which lasted HoldSeconds; the memory
// figures are above the idle baseline.
type StepCost struct {
	Echoes int64 `json:"echoes"`
	// Unstamped of those Echoes were timed when an agent read them, not
	// when they arrived, for want of a kernel receive stamp: their latency
	// includes the swarm's own delay.
	Unstamped int64     `json:"unstamped,omitempty"`
	Model     ProcDelta `json:"model"` // at the end (CPU: delta over the hold)
	AgentsCPU float64   `json:"agents_cpu"`
	// MachineCPU is the CPU seconds the whole machine was busy over the
	// window: the model, the agents, the kernel's softirqs and the rest.
	MachineCPU float64 `json:"machine_cpu,omitempty"`
	// ModelCPUBusy and ModelCPUSoftirq are the busy and softirq seconds of
	// the CPUs the model was pinned to, over the window: what else ran on
	// the model's CPU is ModelCPUBusy less the model's own CPU time.
	ModelCPUBusy    float64 `json:"model_cpu_busy,omitempty"`
	ModelCPUSoftirq float64 `json:"model_cpu_softirq,omitempty"`
	// ModelWait is the seconds the model's threads spent runnable but
	// waiting for a CPU over the window (schedstat run delay), summed
	// over threads; -1 when it could not be read.
	ModelWait float64 `json:"model_wait,omitempty"`
	// ModelWaitUnread is how many of the model's processes the run delay
	// was not read from when its time budget ran out: ModelWait is then
	// the delay of those read, a lower bound.
	ModelWaitUnread int `json:"model_wait_unread,omitempty"`
	// RunnerCPU is the CPU seconds the runner itself used over the
	// window, between the samples that bound it (its per-process reads at
	// the window's ends come just before and after it): what measuring
	// cost, next to the model.
	RunnerCPU float64 `json:"runner_cpu,omitempty"`
	// Others are the processes outside the model and the agents that used
	// the most CPU over the window (the runner among them), most first.
	Others []ProcCPU `json:"others,omitempty"`
	// MemStall is the seconds some task on the machine waited on memory
	// over the window (PSI).
	MemStall    float64 `json:"mem_stall,omitempty"`
	HoldSeconds float64 `json:"hold_seconds"`
	// KernelMem is kernel memory attributable to the connections: sockstat
	// TCP memory plus unreclaimable slab, above the baseline before load.
	KernelMem int64 `json:"kernel_mem"`
	// UserMem is the model's user memory above its idle baseline: the
	// cgroup's charge under the guard, else PSS (Proc.UserMemory).
	UserMem int64 `json:"user_mem"`
}

// StepTrust is how the swarm kept up in a step, and, when it did not,
// why the step measured the swarm rather than the model.
type StepTrust struct {
	LagMaxMs float64 `json:"lag_max_ms"` // the swarm's worst lag behind its send schedule in any second of the step
	// RampPauses: ticks the agents' ramps waited in this step, behind on
	// their own sends (swarm.Status).
	RampPauses int64 `json:"ramp_pauses,omitempty"`
	// Unattempted: connections the agents had not tried to open yet.
	Unattempted int `json:"unattempted,omitempty"`
	// Untrusted, when set, says why this step measured the swarm rather
	// than the model; UntrustedBy is that cause's mechanism (Mech*).
	Untrusted   string    `json:"untrusted,omitempty"`
	UntrustedBy Mechanism `json:"untrusted_by,omitempty"`
}

// StepSearch marks how the capacity search came to run a step.
type StepSearch struct {
	// Search marks a step the capacity search added between or beyond the
	// planned steps (--steps): a bisection probe or a raise.
	Search bool `json:"search,omitempty"`
	// Fresh marks a step run on a model and a swarm started afresh for it
	// (a probe below a count that failed), not on the model as the step
	// before left it.
	Fresh bool `json:"fresh,omitempty"`
}

// ServerReport is a failure the model reported itself (JSON lines on its
// stdout, see models/README.md).
type ServerReport struct {
	Time     time.Time `json:"time"`
	Model    string    `json:"model"`
	Instance int       `json:"instance"`
	Kind     string    `json:"kind"`
	Errno    string    `json:"errno,omitempty"`
	Count    int64     `json:"count"`
	Conns    int64     `json:"conns"`
	Msg      string    `json:"msg,omitempty"`
}

// Event is something that happened to the run.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"` // see the Event* constants
	Msg  string    `json:"msg"`
	// Instances, on EventStarted: how many instances of the model started.
	Instances int `json:"instances,omitempty"`
	// Mechanism, on EventGuard and EventEnded: the cause as one of Mech*.
	Mechanism Mechanism `json:"mechanism,omitempty"`
	// Stop and Detail, on EventEnded: why measuring the model ended
	// (results.Stop*) and what said so.
	Stop   Stop   `json:"stop,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Search and SearchDetail, on EventEnded: how the capacity search
	// ended (results.Search*) and its figures, when the runner, not the
	// steps, decided it (the budget, the machine's limits).
	Search       SearchEnd `json:"search,omitempty"`
	SearchDetail string    `json:"search_detail,omitempty"`
	// Exit, on EventExited: how the model's process ended, with the
	// evidence that tells a crash from a kill by the guard or the kernel.
	Exit *Exit `json:"exit,omitempty"`
}

// Exit is how a model's process ended and what the guard and the kernel
// counted meanwhile.
type Exit struct {
	PID    int    `json:"pid"`
	Code   int    `json:"code"`             // exit status; -1 when killed by a signal
	Signal string `json:"signal,omitempty"` // "SIGKILL", "SIGSEGV"...
	// OOMKills is how many processes the kernel's OOM killer ended during
	// the model's run (the cgroup's count under the guard, else the
	// machine's /proc/vmstat oom_kill), -1 when unknown.
	OOMKills int64 `json:"oom_kills"`
	// MemoryAtLimit: the cgroup's memory use reached its limit (failcnt).
	MemoryAtLimit bool   `json:"memory_at_limit,omitempty"`
	Stderr        string `json:"stderr,omitempty"` // the tail of the model's stderr, its lines joined by StderrSep
}

// StderrSep joins the lines of a stderr tail kept on one line (Exit.Stderr,
// procutil.Tail).
const StderrSep = " | "

// Why a step was not sustained.
const (
	WhyCut      = "cut short"
	WhyTooFew   = "too few sustained"
	WhyLatency  = "p99 past the deadline"
	WhyNoEcho   = "no echo in the window"
	WhyNoWindow = "no evaluation window"
)

// Event kinds.
const (
	EventStarted     = "model_started"
	EventReady       = "model_ready"
	EventExited      = "model_exited" // the model exited by itself (crash)
	EventGuard       = "guard"        // the resource guard stopped the model
	EventGuardSetup  = "guard_setup"  // the guard's limits, or why it has none (information)
	EventInterrupted = "interrupted"  // Ctrl-C or SIGTERM to the runner
	EventAgentDied   = "agent_died"
	EventConformance = "conformance"
	EventStopped     = "model_stopped"
	EventTeardown    = "teardown" // the swarm closes its connections: what follows is not the model's doing
	EventRestart     = "restart"  // the model and the swarm stop and start afresh, for a probe below a failure; until the model is ready again, its reports answer the stop
	EventEnded       = "measure_end"
	EventSearch      = "search"      // the capacity search stopped, and why (information)
	EventBaseline    = "baseline"    // the system's idle readings, for the resolution of memory figures
	EventAgentsWait  = "agents_wait" // the runner waits for agents to dial its control address (information)
)

// EventProbeError: a read the measurement loop or the resource guard
// depends on failed (the model's cgroup, /proc, the machine's memory). Its
// Detail names the read (one of Probe*); it is recorded once per read per
// model, since a read that fails once usually fails every second after,
// and while it does the guard may be blind.
const EventProbeError = "probe_error"

// What failed to read, in an EventProbeError's Detail.
const (
	ProbeModel    = "model processes" // the model's process tree or cgroup (probe.Tree)
	ProbeAgents   = "agent processes" // the swarm agents' process tree
	ProbeSystem   = "system"          // the machine's memory and TCP counters (probe.ReadSystem)
	ProbeCgroup   = "guard cgroup"    // the guard's cgroup counters (guard.Group.Check)
	ProbeWatchdog = "guard watchdog"  // MemAvailable for the guard's floor (guard.Watchdog.Check)
)

// Summary is <model>.summary.json.
type Summary struct {
	Model     string `json:"model"`
	Instances int    `json:"instances"`
	// Capacity is the most connections sustained through a trusted step's
	// evaluation window.
	Capacity int `json:"capacity"`
	// AtLeast: the swarm, not the model, ended the measurement, so the
	// model's capacity is at least Capacity (the most sustained in any
	// step, trusted or not): the swarm's limit.
	AtLeast bool `json:"at_least,omitempty"`
	// SettleSeconds is how long the capacity step took, after its ramp,
	// until every open connection was served on time.
	SettleSeconds float64 `json:"settle_seconds"`
	// Cause is the diagnosis in structured form: side, mechanism, figures.
	Cause *Cause `json:"cause,omitempty"`
	// KernelMemResolved is false when the kernel memory figure was below
	// the resolution of the system-wide counters it comes from.
	KernelMemResolved bool `json:"kernel_mem_resolved"`
	// CapacityOffered is the offered count of that step.
	CapacityOffered int `json:"capacity_offered"`
	// FailedOffered is the offered count of the first step that was not
	// sustained (0: none failed).
	FailedOffered int `json:"failed_offered,omitempty"`
	// BracketFailed is the smallest offered count the model failed in a
	// trusted step above Capacity: with Capacity, the bracket the capacity
	// search closed ("27.5k sustained, 30k failed"); 0 when the bracket is
	// open (nothing above Capacity failed the model).
	BracketFailed int `json:"bracket_failed,omitempty"`
	// Search is how the capacity search ended (Search*) and SearchDetail
	// names the limit with its figures; both "" for a folder from before
	// the search or a model never measured.
	Search       SearchEnd `json:"search,omitempty"`
	SearchDetail string    `json:"search_detail,omitempty"`
	Stop         Stop      `json:"stop"` // why measuring this model ended, see Stop*
	// Diagnosis is the first failure in one sentence: which side, which
	// errno or counter, at how many connections, and why.
	Diagnosis        string      `json:"diagnosis"`
	Latency          Percentiles `json:"latency"` // at capacity (the best full step when the capacity step was cut short)
	UserMemPerConn   float64     `json:"user_mem_per_conn"`
	KernelMemPerConn float64     `json:"kernel_mem_per_conn"`
	CPUPer1kEchoes   float64     `json:"cpu_per_1k_echoes"` // seconds
	PeakProcs        int         `json:"peak_procs"`
	PeakThreads      int         `json:"peak_threads"`
	Untrusted        []string    `json:"untrusted,omitempty"`
	Warnings         []string    `json:"warnings,omitempty"`
	// Hostile is how the well-behaved connections fared in each hostile
	// step against the baseline step without hostiles (bench --hostile).
	Hostile []HostileEffect `json:"hostile,omitempty"`
}

// HostileEffect is one hostile kind's effect on a model.
type HostileEffect struct {
	Kind      string `json:"kind"`
	Offered   int    `json:"offered"` // well-behaved connections offered
	Hostile   int    `json:"hostile"` // misbehaving ones beside them
	Sustained int    `json:"sustained"`
	// Baseline is the well-behaved connections sustained in the step
	// without hostiles, and BaselineP99 its p99 (ms).
	Baseline    int         `json:"baseline"`
	Latency     Percentiles `json:"latency"`
	BaselineP99 float64     `json:"baseline_p99"`
	// MemGrowth is how fast the model's PSS grew over the step's window,
	// bytes per second.
	MemGrowth float64 `json:"mem_growth"`
	// Untrusted says why the step measured the swarm rather than the
	// model; such a step names no model.
	Untrusted string `json:"untrusted,omitempty"`
	// Failed names why the model is named for this kind: it died, its
	// memory grew without bound, or under 95% of the well-behaved
	// connections were sustained; "" when it weathered the kind.
	Failed string `json:"failed,omitempty"`
}

// Cause is what stopped a model, as evidence rather than prose.
type Cause struct {
	Side      Side      `json:"side"`
	Mechanism Mechanism `json:"mechanism"`
	At        int       `json:"at"` // connections when it began
	// Limit is the figure of the limit named (a cap of live connections,
	// an open-files limit, a thread limit), 0 when none.
	Limit int64 `json:"limit,omitempty"`
	// Evidence lists the measured facts behind it, each one short.
	Evidence []string `json:"evidence,omitempty"`
}
