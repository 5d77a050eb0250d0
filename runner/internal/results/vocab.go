package results

import (
	"fmt"
	"strings"
)

// The vocabulary of verdicts: which side failed, by which mechanism, why
// measuring ended and how the capacity search ended, and the class of a
// client's failure. Each is a named type so that the compiler checks every
// use; on disk each is the same string it always was.

// Side is who was the limit: the model (server), the machine, the swarm...
type Side string

// Sides.
const (
	SideServer  Side = "server"
	SideClients Side = "clients"
	SideSwarm   Side = "swarm"
	SideMachine Side = "machine limit"
	SideRunner  Side = "runner"
	SideNone    Side = "none"
	// SideBoth and SideUnknown are the replay's: each side failed a good
	// share of its connections, or a failure no side can be named for.
	SideBoth    Side = "both"
	SideUnknown Side = "unknown"
)

// sideLegacyClient is how the replay's records spelled SideClients
// before the vocabulary was shared; they still read as SideClients.
const sideLegacyClient = "client"

// UnmarshalText reads a side, taking the replay's older "client" for
// SideClients so that its records written before stay readable.
func (s *Side) UnmarshalText(b []byte) error {
	*s = Side(b)
	if string(b) == sideLegacyClient {
		*s = SideClients
	}
	return nil
}

// Mechanism is how the side failed.
type Mechanism string

// Mechanisms.
const (
	MechNone         Mechanism = "none"
	MechOpenFiles    Mechanism = "open-files limit"
	MechForkCap      Mechanism = "cap on children"
	MechProcCreate   Mechanism = "process creation failed"
	MechThreadCreate Mechanism = "thread creation failed"
	MechConnCap      Mechanism = "cap on live connections"
	MechClosesAll    Mechanism = "closes connections" // closes every connection it accepts
	MechSilent       Mechanism = "stopped echoing"
	MechListenQueue  Mechanism = "listen queue overflow"
	MechNotAccepting Mechanism = "stopped accepting"
	// MechAcceptFailed: the model reported accept() failing with an errno
	// other than the open-files ones. The word is the model contract's
	// report kind (contract.KindAccept), as summaries always spelled it.
	MechAcceptFailed Mechanism = "accept"
	// MechReported: the model reported a failure of a kind the contract
	// does not name.
	MechReported      Mechanism = "reported by the model"
	MechCPU           Mechanism = "CPU saturation"
	MechMachineCPU    Mechanism = "machine CPU"
	MechGuardMemory   Mechanism = "memory guard"
	MechGuardPids     Mechanism = "pids guard"
	MechOOM           Mechanism = "OOM killer"
	MechKilled        Mechanism = "killed by a signal"
	MechCrash         Mechanism = "crashed"
	MechResets        Mechanism = "resets"
	MechCorrupt       Mechanism = "wrong bytes echoed"
	MechSlow          Mechanism = "latency past the deadline"
	MechBlockingWork  Mechanism = "blocking work per message"
	MechLate          Mechanism = "late echoes"
	MechPool          Mechanism = "serves a fixed number at once"
	MechSwarm         Mechanism = "swarm resources"
	MechSwarmLag      Mechanism = "swarm behind schedule"
	MechSwarmCPU      Mechanism = "swarm CPU"
	MechInterrupted   Mechanism = "interrupted"
	MechNotMeasurable Mechanism = "could not be measured"
	MechAgentDied     Mechanism = "agent died"
	MechDiskFull      Mechanism = "results not writable"
	MechRefused       Mechanism = "breaks the model contract"
)

// SearchEnd is how a model's capacity search ended: the bracket closed to
// its resolution, or what stopped it being closed.
type SearchEnd string

// How a model's capacity search ended.
const (
	SearchBracketed SearchEnd = "bracketed"         // sustained and failed counts within the resolution
	SearchSwarm     SearchEnd = "the swarm's limit" // the swarm could not be trusted above the sustained count
	SearchMachine   SearchEnd = "the machine's limit"
	SearchCeiling   SearchEnd = "the run's ceiling" // --max-offered: what the instances and agents were sized for
	SearchBudget    SearchEnd = "budget spent"
	SearchEnded     SearchEnd = "the model's run ended" // the model exited, the guard stopped it, or the run was interrupted
	SearchOff       SearchEnd = "no search"             // --search=false: the planned steps only
)

// Stop is why measuring a model ended.
type Stop string

// Why measuring a model ended.
const (
	StopTarget       Stop = "target reached"
	StopNotSustained Stop = "not sustained"
	StopExited       Stop = "model exited"
	StopGuard        Stop = "resource guard"
	StopInterrupted  Stop = "interrupted"
	StopSwarm        Stop = "swarm limit"
	StopError        Stop = "error"
	StopResults      Stop = "results not writable"
	StopRefused      Stop = "refused by conformance"
)

// FailKey is the class of a client's failure: the phase of the
// connection's life it failed in and the errno it failed with (empty for
// the phases that have none: a missed deadline, wrong bytes). On disk it
// is "phase:ERRNO", or the phase alone, as the swarm's counters key it.
type FailKey struct {
	Phase string // one of the Phase* constants
	Errno string // "ECONNRESET", "EOF"...; "" for PhaseDeadline, PhaseMismatch
}

// Phases of a connection's life a failure is counted in.
const (
	PhaseSocket   = "socket"   // creating or setting up the socket
	PhaseBind     = "bind"     // binding its source address
	PhaseConnect  = "connect"  // the TCP handshake
	PhaseWrite    = "write"    // sending a message
	PhaseRead     = "read"     // reading an echo
	PhaseDeadline = "deadline" // an echo did not come back within the deadline
	PhaseMismatch = "mismatch" // the echo's bytes were not those sent
	// PhaseClient prefixes a hostile connection's own shortage (churn can
	// exhaust ports): "client:connect:EADDRNOTAVAIL" (FailKey.Client).
	PhaseClient = "client"
)

// The failure classes the diagnosis tells apart.
var (
	FailReadEOF        = FailKey{PhaseRead, "EOF"}
	FailReadReset      = FailKey{PhaseRead, "ECONNRESET"}
	FailWriteReset     = FailKey{PhaseWrite, "ECONNRESET"}
	FailWritePipe      = FailKey{PhaseWrite, "EPIPE"}
	FailConnectTimeout = FailKey{PhaseConnect, "ETIMEDOUT"}
	FailDeadline       = FailKey{Phase: PhaseDeadline}
	FailMismatch       = FailKey{Phase: PhaseMismatch}
)

// String is the key as the counters on disk spell it: "read:EOF",
// "deadline".
func (k FailKey) String() string {
	if k.Errno == "" {
		return k.Phase
	}
	return k.Phase + ":" + k.Errno
}

// Client is the key of the same failure met by a hostile connection's own
// shortage rather than the server: "client:phase:ERRNO".
func (k FailKey) Client() string {
	return PhaseClient + ":" + k.String()
}

// ParseFailKey reads a key as String writes it: the phase is what comes
// before the first colon.
func ParseFailKey(s string) (FailKey, error) {
	if s == "" {
		return FailKey{}, fmt.Errorf("empty failure key")
	}
	phase, errno, _ := strings.Cut(s, ":")
	if phase == "" {
		return FailKey{}, fmt.Errorf("failure key %q: no phase", s)
	}
	return FailKey{Phase: phase, Errno: errno}, nil
}

// MarshalText writes the key as String does, so that a map keyed by
// FailKey is the same JSON object as one keyed by its strings.
func (k FailKey) MarshalText() ([]byte, error) {
	return []byte(k.String()), nil
}

// UnmarshalText reads a key written by MarshalText.
func (k *FailKey) UnmarshalText(b []byte) error {
	v, err := ParseFailKey(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// FailCounts are failure counters by class.
type FailCounts map[FailKey]int64

// ParseFailCounts types counters keyed as on disk ("phase:ERRNO"). A key
// that does not parse (an empty one) is dropped: it names no class.
func ParseFailCounts(m map[string]int64) FailCounts {
	out := make(FailCounts, len(m))
	for s, v := range m {
		if k, err := ParseFailKey(s); err == nil {
			out[k] += v
		}
	}
	return out
}

// Total is the sum of the counts.
func (f FailCounts) Total() int64 {
	var t int64
	for _, v := range f {
		t += v
	}
	return t
}

// Names of the limits the diagnosis reads from Environment.Limits, as
// sysenv records them (sysenv.Name* are these). They live here because
// sysenv depends on the analysis, which depends on the diagnosis.
const (
	LimitNoFileSoft = "open files (soft)"
	LimitNProc      = "processes+threads per user (RLIMIT_NPROC)"
	LimitThreadsMax = "kernel.threads-max"
	LimitPidMax     = "kernel.pid_max"
	LimitPidsCgroup = "pids cgroup limit"
)

// ThreadLimits are the limits on how many threads and processes can be
// created, in the order the diagnosis names them.
var ThreadLimits = []string{LimitNProc, LimitThreadsMax, LimitPidMax, LimitPidsCgroup}

// RunnerMark ends the Comm of the runner's own entry among a step's
// Others: c10klab's, never unrelated work.
const RunnerMark = " (the runner)"
