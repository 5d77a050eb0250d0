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
	Outcome  string            `json:"outcome,omitempty"`
}

// Config is the run's settings.
type Config struct {
	Models        []string      `json:"models"`
	Steps         []int         `json:"steps"` // offered connections per step, ascending
	Rate          int           `json:"rate"`  // connections opened per second, whole swarm
	Hold          time.Duration `json:"hold"`  // time each step holds its connections before it is evaluated
	Interval      time.Duration `json:"interval"`
	Deadline      time.Duration `json:"deadline"`
	MsgSize       int           `json:"msg_size"`
	Procs         int           `json:"procs"` // model instances; 0 = as many as the open-files limit requires
	Pin           bool          `json:"pin"`
	ModelCPUs     []int         `json:"model_cpus,omitempty"`
	SwarmCPUs     []int         `json:"swarm_cpus,omitempty"`
	SustainRatio  float64       `json:"sustain_ratio"`
	Addr          string        `json:"addr"`
	ConnsPerAgent int           `json:"conns_per_agent"`
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
}

// Swarm is the client side, summed over agents.
type Swarm struct {
	Open       int   `json:"open"`
	Connecting int   `json:"connecting"`
	Sustained  int   `json:"sustained"`
	Sent       int64 `json:"sent"`   // messages sent, cumulative
	Echoed     int64 `json:"echoed"` // messages echoed intact, cumulative
	// Unstamped counts echoes timed when an agent read them, not when
	// they arrived: the kernel gave no plausible receive stamp. Cumulative.
	Unstamped int64 `json:"unstamped,omitempty"`
	// Failures by class "phase:ERRNO" (phase: connect, write, read,
	// deadline, mismatch, closed), cumulative, blamed on the server side.
	Failures map[string]int64 `json:"failures,omitempty"`
	// ClientFailures are the agents' own resource failures (EMFILE,
	// EADDRNOTAVAIL, ENOBUFS...), cumulative: the swarm, not the model.
	ClientFailures map[string]int64 `json:"client_failures,omitempty"`
	LagMaxMs       float64          `json:"lag_max_ms"` // worst lag behind the send schedule in this second
	Latency        Percentiles      `json:"latency"`    // echoes completed in this second
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

// Proc is a process tree's resource use.
type Proc struct {
	Procs   int     `json:"procs"`
	Threads int     `json:"threads"`
	FDs     int     `json:"fds"`
	RSS     int64   `json:"rss"`      // bytes
	PSS     int64   `json:"pss"`      // bytes; shared pages divided among sharers
	CPUUser float64 `json:"cpu_user"` // seconds, cumulative
	CPUSys  float64 `json:"cpu_sys"`  // seconds, cumulative
}

// System is the kernel's view.
type System struct {
	MemAvailable int64 `json:"mem_available"`
	Slab         int64 `json:"slab"`
	SUnreclaim   int64 `json:"sunreclaim"`
	TCPInUse     int64 `json:"tcp_inuse"`
	TCPOrphan    int64 `json:"tcp_orphan"`
	TCPTimeWait  int64 `json:"tcp_tw"`
	TCPMem       int64 `json:"tcp_mem"` // bytes (sockstat "mem" pages × page size)
	// Counters from /proc/net/netstat and /proc/net/snmp, cumulative, keyed
	// "TcpExt.ListenOverflows", "Tcp.EstabResets"...
	Counters map[string]int64 `json:"counters,omitempty"`
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
	// Failures and ClientFailures during this step (deltas).
	Failures       map[string]int64 `json:"failures,omitempty"`
	ClientFailures map[string]int64 `json:"client_failures,omitempty"`
	// ServerReports counts the model's own reports during this step by
	// "kind:ERRNO" (e.g. "accept:EMFILE").
	ServerReports map[string]int64 `json:"server_reports,omitempty"`
	Latency       Percentiles      `json:"latency"` // over the hold
	// Echoes, the model's CPU and AgentsCPU are counted over the hold, the
	// steady state after the ramp, which lasted HoldSeconds.
	Echoes int64 `json:"echoes"`
	// Unstamped of those Echoes were timed when an agent read them, not
	// when they arrived, for want of a kernel receive stamp: their latency
	// includes the swarm's own delay.
	Unstamped   int64   `json:"unstamped,omitempty"`
	Model       Proc    `json:"model"` // at the end (CPU: delta over the hold)
	AgentsCPU   float64 `json:"agents_cpu"`
	HoldSeconds float64 `json:"hold_seconds"`
	// KernelMem is kernel memory attributable to the connections: sockstat
	// TCP memory plus unreclaimable slab, above the baseline before load.
	KernelMem int64 `json:"kernel_mem"`
	// UserMem is the model's PSS above its idle baseline.
	UserMem  int64            `json:"user_mem"`
	Counters map[string]int64 `json:"counters,omitempty"` // deltas over the step
	LagMaxMs float64          `json:"lag_max_ms"`         // the swarm's worst lag behind its send schedule in any second of the step
	// Untrusted, when set, says why this step measured the swarm rather
	// than the model.
	Untrusted string `json:"untrusted,omitempty"`
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
}

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
)

// Summary is <model>.summary.json.
type Summary struct {
	Model     string `json:"model"`
	Instances int    `json:"instances"`
	// Capacity is the most connections sustained at the end of a step.
	Capacity int `json:"capacity"`
	// CapacityOffered is the offered count of that step.
	CapacityOffered int `json:"capacity_offered"`
	// FailedOffered is the offered count of the first step that was not
	// sustained (0: none failed).
	FailedOffered int    `json:"failed_offered,omitempty"`
	Stop          string `json:"stop"` // why measuring this model ended, see Stop*
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
}

// Why measuring a model ended.
const (
	StopTarget       = "target reached"
	StopNotSustained = "not sustained"
	StopExited       = "model exited"
	StopGuard        = "resource guard"
	StopInterrupted  = "interrupted"
	StopSwarm        = "swarm limit"
	StopError        = "error"
)
