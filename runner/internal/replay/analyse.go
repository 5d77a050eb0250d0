package replay

import (
	"fmt"
	"sort"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

// Why a server's replay ended.
const (
	StopSettled      = "settled" // nothing left for the kernel to resolve, nothing changed for --quiet
	StopDuration     = "time bound"
	StopClientExited = "client exited" // every thread ended
	StopServerExited = "server exited"
	StopInterrupted  = "interrupted"
)

// Outcome is one server's replay, measured: the figures the verdict is
// made of. Counts of processes include the server's parent.
type Outcome struct {
	Server              string           `json:"server"`
	Script              string           `json:"script"`
	Started             time.Time        `json:"started"`
	Finished            time.Time        `json:"finished"`
	Stop                string           `json:"stop"`
	RunSeconds          float64          `json:"run_seconds"` // the client's life
	Threads             int              `json:"threads"`     // the client's SOCKET_AMOUNT
	ClientNoFile        int              `json:"client_nofile"`
	ServerNoFile        int              `json:"server_nofile"`
	Backlog             int              `json:"backlog"` // the listener's, from ss (Send-Q)
	BacklogErr          string           `json:"backlog_err,omitempty"`
	Sysctls             map[string]int64 `json:"sysctls"`
	SoftnetDrops        int64            `json:"softnet_drops"`
	ClientStderrDropped int64            `json:"client_stderr_dropped,omitempty"`

	Peak Peaks `json:"peak"`
	// End is the sockets in the last sample before the client was killed.
	End Sockets `json:"end"`
	// EndServerProcs and EndServerThreads are the server's in that sample.
	EndServerProcs   int `json:"end_server_procs"`
	EndServerThreads int `json:"end_server_threads"`
	// CapSamples are the samples with the server at its peak process
	// count; WaitSamples those of them with its main thread blocked in
	// wait4(2).
	CapSamples  int `json:"cap_samples"`
	WaitSamples int `json:"wait_samples"`
	// QueueFullSeconds is how long the accept queue held more than the
	// backlog (full: the kernel queues backlog+1).
	QueueFullSeconds float64          `json:"queue_full_seconds"`
	Counters         map[string]int64 `json:"counters"` // over the run, before the client was killed
	Failures         []FailureClass   `json:"failures"`
	CPUs             int              `json:"cpus"` // the machine's, for the CPU figures
	// FileNr is the machine's allocated file handles at the end of the
	// run (fs.file-nr), to set beside fs.file-max.
	FileNr int64 `json:"file_nr"`
	// CPU of the server's processes in cores (CPU seconds per second):
	// over the last seconds with the client alive, and once it was gone.
	CPURun       float64 `json:"cpu_run"`
	CPUAfter     float64 `json:"cpu_after"`
	AfterSeconds float64 `json:"after_seconds"`
	AfterProcs   int     `json:"after_procs"`
	AfterThreads int     `json:"after_threads"`
	Verdict      Verdict `json:"verdict"`
}

// Peaks are the largest values seen while the client ran.
type Peaks struct {
	ServerProcs   int `json:"server_procs"`
	ServerThreads int `json:"server_threads"`
	ServerFDs     int `json:"server_fds"`
	ClientThreads int `json:"client_threads"`
	ClientFDs     int `json:"client_fds"`
	AcceptQueue   int `json:"accept_queue"`
	SynSent       int `json:"syn_sent"`
	SynRecv       int `json:"syn_recv"`
	ClientEstab   int `json:"client_estab"`
	ServerEstab   int `json:"server_estab"`
	Unacked       int `json:"unacked"`
}

// FailureClass is the client exceptions of one kind: the statement, the
// exception type and errno, and which side of the experiment it belongs
// to.
type FailureClass struct {
	Op    string       `json:"op"`
	Type  string       `json:"type"`
	Errno *int         `json:"errno"`
	Name  string       `json:"name"` // EMFILE, ETIMEDOUT, EAI_NODATA...
	Side  results.Side `json:"side"` // SideClients, results.SideServer or results.SideUnknown
	// Cause names the mechanism the errno and statement point to.
	Cause      string  `json:"cause"`
	Count      int     `json:"count"`
	FirstIndex int     `json:"first_index"`
	First      float64 `json:"first"` // seconds after the client started
	Last       float64 `json:"last"`
	// FDsAtFirst is the client's open descriptors in the sample before
	// the first of these.
	FDsAtFirst int `json:"fds_at_first"`
}

// Causes a failure class can have.
const (
	CauseClientFDs   = "client out of descriptors"            // EMFILE/ENFILE creating a socket
	CauseResolver    = "name resolution without a descriptor" // connect() by name failed: the resolver's own descriptor
	CauseResolverEAI = "name resolution failed"               // gaierror, whatever the descriptor count
	CauseHandshake   = "handshake never answered"             // ETIMEDOUT in connect
	CauseReset       = "reset by the server's kernel"         // ECONNRESET / EPIPE
	CauseRefused     = "nothing listening"                    // ECONNREFUSED
	CauseThreads     = "client out of threads"                // EAGAIN creating a thread
	CauseOther       = "other"
)

// classify names a failure's side and cause from its statement and errno
// alone: no message text is read.
func classify(op, typ string, errno *int) (side results.Side, cause, name string) {
	if errno == nil {
		return results.SideUnknown, CauseOther, typ
	}
	n := *errno
	if n < 0 { // gaierror: an EAI_* code
		return results.SideClients, CauseResolverEAI, eaiName(n)
	}
	e := syscall.Errno(n)
	name = unix.ErrnoName(e)
	if name == "" {
		name = fmt.Sprintf("errno %d", n)
	}
	switch {
	case (e == unix.EMFILE || e == unix.ENFILE) && op == "connect":
		// connect(2) allocates no descriptor; connect(("localhost", port))
		// first resolves the name, and the resolver opens /etc/hosts.
		return results.SideClients, CauseResolver, name
	case e == unix.EMFILE || e == unix.ENFILE:
		return results.SideClients, CauseClientFDs, name
	case e == unix.EAGAIN && op == "":
		return results.SideClients, CauseThreads, name
	case e == unix.ETIMEDOUT:
		return results.SideServer, CauseHandshake, name
	case e == unix.ECONNRESET || e == unix.EPIPE:
		return results.SideServer, CauseReset, name
	case e == unix.ECONNREFUSED:
		return results.SideServer, CauseRefused, name
	}
	return results.SideUnknown, CauseOther, name
}

// eaiName names glibc's getaddrinfo codes (netdb.h).
func eaiName(rc int) string {
	names := map[int]string{
		-1: "EAI_BADFLAGS", -2: "EAI_NONAME", -3: "EAI_AGAIN", -4: "EAI_FAIL", -5: "EAI_NODATA",
		-6: "EAI_FAMILY", -7: "EAI_SOCKTYPE", -8: "EAI_SERVICE", -9: "EAI_ADDRFAMILY",
		-10: "EAI_MEMORY", -11: "EAI_SYSTEM", -12: "EAI_OVERFLOW",
	}
	if s, ok := names[rc]; ok {
		return s
	}
	return fmt.Sprintf("EAI %d", rc)
}

// analyse fills oc's figures from the samples and exceptions.
func analyse(oc *Outcome, samples []Sample, exc []Exception) {
	var run, after []Sample
	for _, s := range samples {
		if s.Phase == PhaseAfter {
			after = append(after, s)
		} else {
			run = append(run, s)
		}
	}
	p := &oc.Peak
	for _, s := range run {
		p.ServerProcs = max(p.ServerProcs, s.Server.Procs)
		p.ServerThreads = max(p.ServerThreads, s.Server.Threads)
		p.ServerFDs = max(p.ServerFDs, s.Server.FDs)
		p.ClientThreads = max(p.ClientThreads, s.Client.Threads)
		p.ClientFDs = max(p.ClientFDs, s.Client.FDs)
		p.AcceptQueue = max(p.AcceptQueue, s.Sockets.AcceptQueue)
		p.SynSent = max(p.SynSent, s.Sockets.SynSent)
		p.SynRecv = max(p.SynRecv, s.Sockets.SynRecv)
		p.ClientEstab = max(p.ClientEstab, s.Sockets.ClientEstab)
		p.ServerEstab = max(p.ServerEstab, s.Sockets.ServerEstab)
		p.Unacked = max(p.Unacked, s.Sockets.Unacked)
	}
	for i, s := range run {
		if s.Server.Procs == p.ServerProcs {
			oc.CapSamples++
			if s.ServerSyscall == int(unix.SYS_WAIT4) {
				oc.WaitSamples++
			}
		}
		if oc.Backlog > 0 && s.Sockets.AcceptQueue > oc.Backlog && i > 0 {
			oc.QueueFullSeconds += s.Elapsed - run[i-1].Elapsed
		}
	}
	if len(run) > 0 {
		last := run[len(run)-1]
		oc.End = last.Sockets
		oc.EndServerProcs, oc.EndServerThreads = last.Server.Procs, last.Server.Threads
		oc.Counters = last.Counters
		// CPU over the last (up to) 10 s with the client alive.
		first := run[max(0, len(run)-11)]
		if dt := last.Elapsed - first.Elapsed; dt > 0 {
			oc.CPURun = (serverCPU(last) - serverCPU(first)) / dt
		}
		if len(after) > 0 {
			a := after[len(after)-1]
			if dt := a.Elapsed - last.Elapsed; dt > 0 {
				oc.CPUAfter = (serverCPU(a) - serverCPU(last)) / dt
				oc.AfterSeconds = dt
			}
			oc.AfterProcs, oc.AfterThreads = a.Server.Procs, a.Server.Threads
		}
	}
	oc.Failures = classes(exc)
}

// serverCPU is the server's cumulative CPU time in a sample, seconds.
func serverCPU(s Sample) float64 { return s.Server.CPU() }

func classes(exc []Exception) []FailureClass {
	type key struct {
		op, typ string
		errno   int
		has     bool
	}
	m := map[key]*FailureClass{}
	var order []key
	for _, e := range exc {
		k := key{op: e.Op, typ: e.Type}
		if e.Errno != nil {
			k.errno, k.has = *e.Errno, true
		}
		c, ok := m[k]
		if !ok {
			side, cause, name := classify(e.Op, e.Type, e.Errno)
			c = &FailureClass{Op: e.Op, Type: e.Type, Errno: e.Errno, Name: name, Side: side, Cause: cause,
				FirstIndex: e.Index, First: e.Elapsed, FDsAtFirst: e.ClientFDs}
			m[k] = c
			order = append(order, k)
		}
		c.Count++
		if e.Elapsed < c.First {
			c.First, c.FirstIndex, c.FDsAtFirst = e.Elapsed, e.Index, e.ClientFDs
		}
		c.Last = max(c.Last, e.Elapsed)
	}
	out := make([]FailureClass, 0, len(order))
	for _, k := range order {
		out = append(out, *m[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}
