package replay

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Verdict is one server's explanation, made only of what was measured.
type Verdict struct {
	// Side is the side whose limit held the experiment back: SideServer,
	// SideClients, SideBoth, or "" when nothing failed.
	Side     results.Side `json:"side"`
	Headline string       `json:"headline"`
	// ClientFailures and ServerFailures count the client's exceptions by
	// side; Waiting are connect()s the server's kernel left unanswered (or
	// data unacknowledged) when the replay ended: failures not yet raised.
	ClientFailures int `json:"client_failures"`
	ServerFailures int `json:"server_failures"`
	Waiting        int `json:"waiting"`
	// NotAccepted are connections established as the client sees them with
	// no socket on the server's side when the replay ended: they raise
	// nothing, the client never reads.
	NotAccepted int `json:"not_accepted"`
	// KernelFailed is Tcp.AttemptFails + Tcp.EstabResets over the run.
	KernelFailed int `json:"kernel_failed"`
	// Reached are the connections that reached the network: failed on the
	// server's side, waiting in connect(), or established for the client.
	Reached int `json:"reached"`
	// Mechanisms explain the failures, Other what else the replay showed,
	// Settings the original's three sysctls and the limits that mattered.
	Mechanisms []Finding `json:"mechanisms"`
	Other      []Finding `json:"other,omitempty"`
	Settings   []Finding `json:"settings"`
}

// Finding is one explained fact. Key names the mechanism, for programs
// (and tests); Text is for people.
type Finding struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// Finding keys.
const (
	KeyChildrenCap   = "children-cap"
	KeyListenBacklog = "listen-backlog"
	KeySynDropped    = "syn-dropped"
	KeyTimeouts      = "timeouts"
	KeyResets        = "resets"
	KeyNoResets      = "no-resets"
	KeyClientFDs     = "client-fd-limit"
	KeyResolver      = "resolver"
	KeyServing       = "server-serving"
	KeyNotAccepted   = "not-accepted"
	KeyBusyLoop      = "busy-loop"
	KeyFileMax       = "fs.file-max"
	KeyNetdevBacklog = "net.core.netdev_max_backlog"
	KeySomaxconn     = "net.core.somaxconn"
	KeyWouldHave     = "would-have"
)

// Has reports whether the verdict holds a finding with key.
func (v Verdict) Has(key string) bool {
	for _, fs := range [][]Finding{v.Mechanisms, v.Other, v.Settings} {
		for _, f := range fs {
			if f.Key == key {
				return true
			}
		}
	}
	return false
}

// Judge explains one server's outcome from its measured figures.
func Judge(oc *Outcome, pr Probe) Verdict {
	j := newJudgement(oc, pr)
	j.weigh()
	j.headline()
	j.serverMechanisms()
	j.clientMechanisms()
	// What else: handlers that only recv().
	if oc.AfterSeconds > 0 && oc.CPUAfter > oc.CPURun+0.1 {
		j.add(&j.v.Other, KeyBusyLoop, "recv()-only handlers: with the client gone, server CPU rose from %.2f to %.2f cores (of %d) with all %d processes / %d threads still there: recv() returns b'' at once and `while 1` repeats it forever%s.",
			oc.CPURun, oc.CPUAfter, oc.CPUs, oc.AfterProcs, oc.AfterThreads,
			pickS(oc.Server == "forked", "; each child keeps its max_children slot", ""))
	}
	j.settings()
	return j.v
}

// judgement is one Judge while it runs: the outcome, the failures counted
// by cause, and the verdict as it grows.
type judgement struct {
	oc *Outcome
	pr Probe
	v  Verdict
	// cnt counts the failures by cause; names by cause and by
	// "op(): Type NAME", for the texts.
	cnt   map[string]int
	names map[string]map[string]int
	// held are the connections that reached the network; served says the
	// server's side holds nearly every connection the client believes
	// open; handlers is the server's processes or threads serving them.
	held     int
	served   bool
	handlers int
}

func newJudgement(oc *Outcome, pr Probe) *judgement {
	j := &judgement{oc: oc, pr: pr, cnt: map[string]int{}, names: map[string]map[string]int{}}
	for _, f := range oc.Failures {
		switch f.Side {
		case results.SideClients:
			j.v.ClientFailures += f.Count
		case results.SideServer:
			j.v.ServerFailures += f.Count
		}
		j.cnt[f.Cause] += f.Count
		if j.names[f.Cause] == nil {
			j.names[f.Cause] = map[string]int{}
		}
		j.names[f.Cause][f.Op+"(): "+f.Type+" "+f.Name] += f.Count
	}
	return j
}

func (j *judgement) ctr(k string) int64 { return j.oc.Counters[k] }

func (j *judgement) add(fs *[]Finding, key, format string, args ...any) {
	*fs = append(*fs, Finding{Key: key, Text: fmt.Sprintf(format, args...)})
}

// weigh counts what failed where and names the side whose limit held the
// experiment back.
func (j *judgement) weigh() {
	oc, v := j.oc, &j.v
	if oc.Stop != StopSettled {
		v.Waiting = oc.End.SynSent
	}
	// What the kernel counted failing on the server's side: handshakes that
	// never completed, established connections reset. The client raises
	// them one thread at a time under the GIL, so when the replay ends the
	// kernel may know of more than the client has raised.
	v.KernelFailed = int(j.ctr("Tcp.AttemptFails") + j.ctr("Tcp.EstabResets"))
	serverShort := max(v.ServerFailures, v.KernelFailed) + v.Waiting
	// The connections that reached the network (got a descriptor and, for
	// a name, an address): failed on the server's side, still waiting in
	// connect(), or established as the client sees them.
	j.held = serverShort + oc.End.ClientEstab
	v.Reached = j.held
	// The side whose limit held the experiment back: the server's when it
	// failed at least half of what reached it; both when it failed a fifth
	// and the client also ran out; else the client's, if it ran out.
	// Half-open connections do not count here: they raise nothing yet, may
	// still get in, and are reported on their own.
	switch {
	case serverShort > 0 && serverShort*2 >= j.held:
		v.Side = results.SideServer
	case serverShort > 0 && serverShort*5 >= j.held && v.ClientFailures > 0:
		v.Side = results.SideBoth
	case serverShort > 0 && serverShort*5 >= j.held:
		v.Side = results.SideServer
	case v.ClientFailures > 0:
		v.Side = results.SideClients
	}
	// Established on the client's side but with no socket on the server's:
	// half-connections the client cannot tell from real ones, since it
	// never reads.
	v.NotAccepted = max(0, oc.End.ClientEstab-oc.End.ServerEstab)
	j.served = v.NotAccepted*10 < oc.End.ClientEstab
	j.handlers = oc.EndServerProcs - 1
	if oc.Server == "threaded" {
		j.handlers = oc.EndServerThreads - 1
	}
}

// headline is the verdict's first sentence, by side.
func (j *judgement) headline() {
	oc, v := j.oc, &j.v
	clientPart := ""
	if v.ClientFailures > 0 {
		clientPart = fmt.Sprintf(" The client's own limit (%s descriptors) failed %s threads before they reached the network.",
			units.Grouped(oc.ClientNoFile), units.Grouped(v.ClientFailures))
	}
	raised := join(j.names[CauseHandshake], j.names[CauseReset], j.names[CauseRefused])
	clientRaised := join(j.names[CauseClientFDs], j.names[CauseResolver], j.names[CauseResolverEAI], j.names[CauseThreads])
	switch v.Side {
	case results.SideServer:
		half := ""
		if v.NotAccepted > 0 {
			half = fmt.Sprintf(", %s half-open", units.Grouped(v.NotAccepted))
		}
		v.Headline = fmt.Sprintf("Server's side: it took %s of the %s connections that reached it; %s failed there (%s raised by the end)%s.%s",
			units.Grouped(oc.End.ServerEstab), units.Grouped(j.held), units.Grouped(max(v.ServerFailures, v.KernelFailed)), raised, half, clientPart)
	case results.SideBoth:
		v.Headline = fmt.Sprintf("Both sides: the client's open-files limit of %s failed %s of %s threads (%s); of the %s connections that got through, the server took %s and %s failed on its side (%s raised by the end).",
			units.Grouped(oc.ClientNoFile), units.Grouped(v.ClientFailures), units.Grouped(oc.Threads), clientRaised,
			units.Grouped(j.held), units.Grouped(oc.End.ServerEstab), units.Grouped(max(v.ServerFailures, v.KernelFailed)), raised)
	case results.SideClients:
		took := fmt.Sprintf("the server held all %s connections that got through", units.Grouped(oc.End.ClientEstab))
		if !j.served {
			took = fmt.Sprintf("the server raised nothing but held only %s of the %s connections the client believed open", units.Grouped(oc.End.ServerEstab), units.Grouped(oc.End.ClientEstab))
		}
		v.Headline = fmt.Sprintf("Client's side: its open-files limit of %s failed %s of %s threads (%s); %s.",
			units.Grouped(oc.ClientNoFile), units.Grouped(v.ClientFailures), units.Grouped(oc.Threads), clientRaised, took)
	default:
		v.Headline = fmt.Sprintf("Nothing failed: %s connections held, %s handlers.", units.Grouped(oc.End.ClientEstab), units.Grouped(j.handlers))
	}
}

// serverMechanisms explains the failures on the server's side: the cap
// on children, the listen backlog, the SYNs it dropped, the timeouts and
// resets that followed.
func (j *judgement) serverMechanisms() {
	oc, pr, v := j.oc, j.pr, &j.v
	if pr.MaxChildren > 0 && oc.Server == "forked" && oc.Peak.ServerProcs == pr.MaxChildren+1 {
		wait := "the parent was never seen in wait4()"
		if oc.WaitSamples > 0 {
			wait = fmt.Sprintf("the parent was blocked in wait4() in %d of %d samples: collect_children() waits for a child to exit, and none ever does", oc.WaitSamples, oc.CapSamples)
		}
		j.add(&v.Mechanisms, KeyChildrenCap, "Cap on children: %d processes, the parent and max_children = %d; %s.", oc.Peak.ServerProcs, pr.MaxChildren, wait)
	}
	if oc.Backlog > 0 && oc.Peak.AcceptQueue > oc.Backlog {
		j.add(&v.Mechanisms, KeyListenBacklog, "Listen backlog %d (ss Send-Q): the accept queue was full (%d) for %.0f s%s.",
			oc.Backlog, oc.Peak.AcceptQueue, oc.QueueFullSeconds, pickS(oc.Server == "forked", ", with connections no process will accept", ""))
	}
	j.synDropped()
	if c := j.cnt[CauseHandshake]; c > 0 {
		r := oc.Sysctls["net.ipv4.tcp_syn_retries"]
		f := first(oc.Failures, CauseHandshake)
		j.add(&v.Mechanisms, KeyTimeouts, "Timeouts: the kernel gave up %s handshakes (Tcp.AttemptFails) after tcp_syn_retries = %d (%d s); the client raised %s ETIMEDOUT (errno %d) by the end, from %.0f s.",
			units.Grouped(j.ctr("Tcp.AttemptFails")), r, (1<<(r+1))-1, units.Grouped(c), int(unix.ETIMEDOUT), f.First)
	}
	if c := j.cnt[CauseReset]; c > 0 || j.ctr("Tcp.EstabResets") > 0 {
		how := ""
		if f := j.ctr("TcpExt.SyncookiesFailed"); f > 0 {
			how = fmt.Sprintf("; SyncookiesFailed +%s: the cookie their retransmitted data carried had expired, and the listener answered with a reset", units.Grouped(f))
		}
		j.add(&v.Mechanisms, KeyResets, "Resets, the original's Errno 104: the server's kernel reset %s established connections (Tcp.EstabResets)%s. Raised by the end: %s.",
			units.Grouped(j.ctr("Tcp.EstabResets")), how, join(j.names[CauseReset]))
	} else if v.Side == results.SideServer {
		j.add(&v.Mechanisms, KeyNoResets, "No resets (Tcp.OutRsts +%s): this kernel drops the SYN, so clients time out. The original's 3.13 kernel answered it, dropped the final ACK at the full queue and reset the data later: its Errno 104.",
			units.Grouped(j.ctr("Tcp.OutRsts")))
	}
}

// synDropped explains a listen queue overflow: what this kernel did with
// the SYNs, and what became of the clients that sent them.
func (j *judgement) synDropped() {
	oc, v := j.oc, &j.v
	ov := j.ctr("TcpExt.ListenOverflows")
	if ov <= 0 {
		return
	}
	what := ""
	if oc.Peak.SynRecv == 0 && oc.Peak.SynSent > 0 {
		what = " While the accept queue is full this kernel drops the SYN unanswered (SYN-RECV stayed 0)."
	}
	if c := j.ctr("TcpExt.TCPReqQFullDoCookies"); c > 0 {
		what += fmt.Sprintf(" With the handshake queue full too it sent %s syncookies: those clients think they are connected, but their ACK is dropped at the full accept queue until a retransmission finds room (SyncookiesRecv +%s; up to %s half-open).",
			units.Grouped(c), units.Grouped(j.ctr("TcpExt.SyncookiesRecv")), units.Grouped(oc.Peak.Unacked))
	}
	fate := fmt.Sprintf(" Clients retransmitted SYNs (TCPSynRetrans +%s), up to %s waiting in connect().", units.Grouped(j.ctr("TcpExt.TCPSynRetrans")), units.Grouped(oc.Peak.SynSent))
	if v.Side == results.SideClients && oc.Peak.SynSent > 0 && j.cnt[CauseHandshake] == 0 {
		fate = fmt.Sprintf(" Clients retransmitted (TCPSynRetrans +%s) and got in later.", units.Grouped(j.ctr("TcpExt.TCPSynRetrans")))
	}
	j.add(&v.Mechanisms, KeySynDropped, "Backlog overflow: ListenOverflows +%s, dropped not reset (tcp_abort_on_overflow = %d).%s%s",
		units.Grouped(ov), oc.Sysctls["net.ipv4.tcp_abort_on_overflow"], what, fate)
}

// clientMechanisms explains the client's own failures: its open-files
// limit, the resolver without a descriptor, and connections it believed
// open that the server never accepted, or else that the server served.
func (j *judgement) clientMechanisms() {
	oc, pr, v := j.oc, j.pr, &j.v
	if c := j.cnt[CauseClientFDs]; c > 0 {
		f := first(oc.Failures, CauseClientFDs)
		j.add(&v.Mechanisms, KeyClientFDs, "Client open-files limit %s (read from the running client): descriptors peaked at %s; %s threads failed (%s) from connection #%s, %.1f s in.",
			units.Grouped(oc.ClientNoFile), units.Grouped(oc.Peak.ClientFDs), units.Grouped(c), join(j.names[CauseClientFDs]), units.Grouped(f.FirstIndex), f.First)
	}
	if c := j.cnt[CauseResolver] + j.cnt[CauseResolverEAI]; c > 0 {
		g := pr.GetAddrInfo
		py := "an exception"
		if pr.PythonRaises != nil {
			py = pr.PythonRaises.Type
			if pr.PythonRaises.Errno != nil {
				py += fmt.Sprintf(" %d", *pr.PythonRaises.Errno)
			}
		}
		rel := "the original's glibc returned EAI_NODATA (-5): its \"gaierror: [Errno -5]\" was this, on the client"
		if g.RC == -5 {
			rel = "as the original's: its \"gaierror: [Errno -5]\" was this, on the client"
		}
		j.add(&v.Mechanisms, KeyResolver, "Resolver without a descriptor: %s threads had a socket but failed in connect((\"localhost\", port)) (%s), since reading /etc/hosts takes a descriptor. This %s returns %s (%d), errno %s (replay/probe.py), raised by Python as %s; %s.",
			units.Grouped(c), join(j.names[CauseResolver], j.names[CauseResolverEAI]), pr.Libc, g.Name, g.RC, unix.ErrnoName(syscallErrno(g.Errno)), py, rel)
	}
	if v.NotAccepted > 0 && !j.served {
		how := ""
		if c := j.ctr("TcpExt.TCPReqQFullDoCookies"); c > 0 {
			how = " (syncookies)"
		}
		j.add(&v.Mechanisms, KeyNotAccepted, "Not in fact served: the client held %s established connections, the server's kernel %s: %s are half-open%s, their final ACK dropped at the full accept queue (backlog %d); each waits for a retransmission to find room, and if its syncookie expires first the listener answers with a reset. Silent: the client never reads.",
			units.Grouped(oc.End.ClientEstab), units.Grouped(oc.End.ServerEstab), units.Grouped(v.NotAccepted), how, oc.Backlog)
	} else if v.Side == results.SideClients {
		j.add(&v.Mechanisms, KeyServing, "The server kept serving: %s handlers (%d %s) for %s established connections; nothing failed on its side.",
			units.Grouped(j.handlers), pick(oc.Server == "threaded", oc.EndServerThreads, oc.EndServerProcs), pickS(oc.Server == "threaded", "threads", "processes"), units.Grouped(oc.End.ClientEstab))
	}
}

// settings are the three settings the author changed, and what would
// have mattered.
func (j *judgement) settings() {
	oc, pr, v := j.oc, j.pr, &j.v
	j.add(&v.Settings, KeyFileMax, "fs.file-max = %s: system-wide, %s in use at the end; not hit. The client hit its RLIMIT_NOFILE (%s), which it does not raise.",
		units.Grouped(oc.Sysctls["fs.file-max"]), units.Grouped(oc.FileNr), units.Grouped(oc.ClientNoFile))
	drops := "no drops there: not hit"
	if oc.SoftnetDrops > 0 {
		drops = fmt.Sprintf("%s packets dropped there (machine-wide), which TCP retransmits", units.Grouped(oc.SoftnetDrops))
	}
	j.add(&v.Settings, KeyNetdevBacklog, "net.core.netdev_max_backlog = %s: a CPU's queue of incoming packets, not a listen queue; %s.",
		units.Grouped(oc.Sysctls["net.core.netdev_max_backlog"]), drops)
	j.add(&v.Settings, KeySomaxconn, "net.core.somaxconn = %s: caps what listen() asks for; Python asks for request_queue_size = %d and the listener has %d: no effect.",
		units.Grouped(oc.Sysctls["net.core.somaxconn"]), pr.RequestQueueSize, oc.Backlog)
	if oc.Server == "forked" {
		j.add(&v.Settings, KeyWouldHave, "would have mattered: max_children (%d) and handlers that end; a larger request_queue_size only lengthens a queue nobody accepts from.", pr.MaxChildren)
	} else {
		j.add(&v.Settings, KeyWouldHave, "would have mattered: the client's RLIMIT_NOFILE (%s here), and a larger request_queue_size (%d; somaxconn caps it) to queue the connect burst instead of syncookies.", units.Grouped(oc.ClientNoFile), pr.RequestQueueSize)
	}
}

func first(fs []FailureClass, cause string) FailureClass {
	var best FailureClass
	found := false
	for _, f := range fs {
		if f.Cause == cause && (!found || f.First < best.First) {
			best, found = f, true
		}
	}
	return best
}

// join lists "OSError EMFILE ×5,950" entries of the maps, largest first.
func join(ms ...map[string]int) string {
	all := map[string]int{}
	for _, m := range ms {
		for k, v := range m {
			all[k] += v
		}
	}
	if len(all) == 0 {
		return "none"
	}
	keys := byCount(all)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s ×%s", k, units.Grouped(all[k]))
	}
	return strings.Join(keys, ", ")
}

// byCount returns m's keys, largest count first, then by name.
func byCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys
}

func syscallErrno(n int) unix.Errno { return unix.Errno(n) }

func pick(c bool, a, b int) int {
	if c {
		return a
	}
	return b
}

func pickS(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
