package replay

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Verdict is one server's explanation, made only of what was measured.
type Verdict struct {
	// Side is the side whose limit capped the connections the experiment
	// held: SideServer, SideClient, or "" when nothing failed.
	Side     string `json:"side"`
	Headline string `json:"headline"`
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
	var v Verdict
	cnt := map[string]int{} // by cause
	names := map[string]map[string]int{}
	for _, f := range oc.Failures {
		switch f.Side {
		case SideClient:
			v.ClientFailures += f.Count
		case SideServer:
			v.ServerFailures += f.Count
		}
		cnt[f.Cause] += f.Count
		if names[f.Cause] == nil {
			names[f.Cause] = map[string]int{}
		}
		names[f.Cause][f.Op+"(): "+f.Type+" "+f.Name] += f.Count
	}
	ctr := func(k string) int64 { return oc.Counters[k] }
	if oc.Stop != StopSettled {
		v.Waiting = oc.End.SynSent
	}
	// What the kernel counted failing on the server's side: handshakes that
	// never completed, established connections reset. The client raises
	// them one thread at a time under the GIL, so when the replay ends the
	// kernel may know of more than the client has raised.
	v.KernelFailed = int(ctr("Tcp.AttemptFails") + ctr("Tcp.EstabResets"))
	serverShort := max(v.ServerFailures, v.KernelFailed) + v.Waiting
	// The connections that reached the network (got a descriptor and, for
	// a name, an address): failed on the server's side, still waiting in
	// connect(), or established as the client sees them.
	held := serverShort + oc.End.ClientEstab
	v.Reached = held
	switch {
	case serverShort > 0 && serverShort*10 >= held:
		v.Side = SideServer
	case v.ClientFailures > 0:
		v.Side = SideClient
	}
	// Established on the client's side but with no socket on the server's:
	// half-connections the client cannot tell from real ones, since it
	// never reads.
	v.NotAccepted = max(0, oc.End.ClientEstab-oc.End.ServerEstab)
	served := v.NotAccepted*10 < oc.End.ClientEstab
	handlers := oc.EndServerProcs - 1
	if oc.Server == "threaded" {
		handlers = oc.EndServerThreads - 1
	}
	clientPart := ""
	if v.ClientFailures > 0 {
		clientPart = fmt.Sprintf(" The client also ran out of descriptors at its own limit of %s: %s threads failed before reaching the network (%s).",
			n(oc.ClientNoFile), n(v.ClientFailures), join(names[CauseClientFDs], names[CauseResolver], names[CauseResolverEAI], names[CauseThreads]))
	}

	switch v.Side {
	case SideServer:
		half := ""
		if v.NotAccepted > 0 {
			half = fmt.Sprintf(", %s were half-open (established for the client only)", n(v.NotAccepted))
		}
		v.Headline = fmt.Sprintf("The server's side failed: of %s connections that reached it, the server took %s; %s failed on its account (kernel: Tcp.AttemptFails + EstabResets = %s; raised by the client so far: %s)%s and %s still waited in connect().%s",
			n(held), n(oc.End.ServerEstab), n(max(v.ServerFailures, v.KernelFailed)), n(v.KernelFailed),
			join(names[CauseHandshake], names[CauseReset], names[CauseRefused]), half, n(v.Waiting), clientPart)
	case SideClient:
		took := fmt.Sprintf("while the server held every connection the client made (%s established, %s handlers)", n(oc.End.ClientEstab), n(handlers))
		if !served {
			took = fmt.Sprintf("and the server raised nothing, but had taken only %s of the %s connections the client believed open", n(oc.End.ServerEstab), n(oc.End.ClientEstab))
		}
		v.Headline = fmt.Sprintf("The client's side failed, at its own open-files limit of %s: %s of its %s threads failed (%s), %s.",
			n(oc.ClientNoFile), n(v.ClientFailures), n(oc.Threads),
			join(names[CauseClientFDs], names[CauseResolver], names[CauseResolverEAI], names[CauseThreads]), took)
	default:
		v.Headline = fmt.Sprintf("Nothing failed: %s connections held, %s handlers.", n(oc.End.ClientEstab), n(handlers))
	}
	add := func(fs *[]Finding, key, format string, args ...any) {
		*fs = append(*fs, Finding{Key: key, Text: fmt.Sprintf(format, args...)})
	}

	// The server's mechanisms.
	if pr.MaxChildren > 0 && oc.Server == "forked" && oc.Peak.ServerProcs == pr.MaxChildren+1 {
		wait := "the parent was never seen in wait4()"
		if oc.WaitSamples > 0 {
			wait = fmt.Sprintf("the parent sat blocked in wait4() (%d of %d samples at the cap): collect_children() waits for a child to exit before accepting again, and these never exit", oc.WaitSamples, oc.CapSamples)
		}
		add(&v.Mechanisms, KeyChildrenCap, "Cap on children: %d server processes, the parent and max_children = %d children; %s.",
			oc.Peak.ServerProcs, pr.MaxChildren, wait)
	}
	if oc.Backlog > 0 && oc.Peak.AcceptQueue > oc.Backlog {
		add(&v.Mechanisms, KeyListenBacklog, "Listen backlog %d (request_queue_size; ss Send-Q): the accept queue was full (up to %d, above the backlog) for %.0f s%s.",
			oc.Backlog, oc.Peak.AcceptQueue, oc.QueueFullSeconds, pickS(oc.Server == "forked", ", connections no process will accept", ""))
	}
	if ov := ctr("TcpExt.ListenOverflows"); ov > 0 {
		what := ""
		if oc.Peak.SynRecv == 0 && oc.Peak.SynSent > 0 {
			what = " While the accept queue is full this kernel drops the SYN itself: no SYN-ACK (SYN-RECV stayed 0), no reset."
		}
		if c := ctr("TcpExt.TCPReqQFullDoCookies"); c > 0 {
			what += fmt.Sprintf(" When the pending handshakes overflowed too it answered %s SYNs with syncookies: those clients count themselves connected, their ACK is dropped at the full queue, and they get in only when a retransmission of their data finds room (SyncookiesRecv +%s; up to %s client connections held unacknowledged data, %s at the end).",
				n64(c), n64(ctr("TcpExt.SyncookiesRecv")), n(oc.Peak.Unacked), n(oc.End.Unacked))
		}
		fate := fmt.Sprintf("Clients retransmitted SYNs (TCPSynRetrans +%s); up to %s waited in connect().", n64(ctr("TcpExt.TCPSynRetrans")), n(oc.Peak.SynSent))
		if v.Side == SideClient {
			fate = fmt.Sprintf("Clients retransmitted (TCPSynRetrans +%s) and got in later: no connect() failed on the server's account.", n64(ctr("TcpExt.TCPSynRetrans")))
		}
		add(&v.Mechanisms, KeySynDropped, "Handshakes the listener could not queue: ListenOverflows +%s, ListenDrops +%s, dropped not reset (tcp_abort_on_overflow = %d).%s %s",
			n64(ov), n64(ctr("TcpExt.ListenDrops")), oc.Sysctls["net.ipv4.tcp_abort_on_overflow"], what, fate)
	}
	if c := cnt[CauseHandshake]; c > 0 {
		r := oc.Sysctls["net.ipv4.tcp_syn_retries"]
		f := first(oc.Failures, CauseHandshake)
		add(&v.Mechanisms, KeyTimeouts, "Timeouts: the kernel gave up %s handshakes (Tcp.AttemptFails) after tcp_syn_retries = %d unanswered SYNs (%d s); %s connect()s had raised ETIMEDOUT (errno %d) by the end, the first at %.0f s.",
			n64(ctr("Tcp.AttemptFails")), r, (1<<(r+1))-1, n(c), int(unix.ETIMEDOUT), f.First)
	}
	if c := cnt[CauseReset]; c > 0 || ctr("Tcp.EstabResets") > 0 {
		how := ""
		if f := ctr("TcpExt.SyncookiesFailed"); f > 0 {
			how = fmt.Sprintf(": the listener could no longer validate the syncookie that a half-connection's retransmitted data carried (SyncookiesFailed +%s) and answered it with a reset", n64(f))
		}
		add(&v.Mechanisms, KeyResets, "Resets, the original's Errno 104: the kernel reset %s established connections (Tcp.EstabResets; OutRsts +%s)%s. %s client threads had raised it by the end (%s).",
			n64(ctr("Tcp.EstabResets")), n64(ctr("Tcp.OutRsts")), how, n(c), join(names[CauseReset]))
	} else if v.Side == SideServer {
		add(&v.Mechanisms, KeyNoResets, "No resets (Tcp.OutRsts +%s): while the accept queue stays full this kernel drops each SYN before answering it (no SYN-ACK, no syncookie), so the clients time out rather than being reset. The original's 3.13 kernel still answered such SYNs, dropped the final ACK at the full queue, and reset the client's data later: its Errno 104.",
			n64(ctr("Tcp.OutRsts")))
	}

	// The client's mechanisms.
	if c := cnt[CauseClientFDs]; c > 0 {
		f := first(oc.Failures, CauseClientFDs)
		add(&v.Mechanisms, KeyClientFDs, "Client open-files limit %s (RLIMIT_NOFILE of the running client): its descriptors peaked at %s and %s threads failed creating a socket (%s) from connection #%s, %.1f s in. The server never saw these.",
			n(oc.ClientNoFile), n(oc.Peak.ClientFDs), n(c), join(names[CauseClientFDs]), n(f.FirstIndex), f.First)
	}
	if c := cnt[CauseResolver] + cnt[CauseResolverEAI]; c > 0 {
		g := pr.GetAddrInfo
		py := "an exception"
		if pr.PythonRaises != nil {
			py = pr.PythonRaises.Type
			if pr.PythonRaises.Errno != nil {
				py += fmt.Sprintf(" %d", *pr.PythonRaises.Errno)
			}
		}
		rel := "the original's older glibc returned EAI_NODATA (-5) there: its \"gaierror: [Errno -5]\" was the client out of descriptors, not the server"
		if g.RC == -5 {
			rel = "as the original's did: its \"gaierror: [Errno -5]\" was the client out of descriptors, not the server"
		}
		add(&v.Mechanisms, KeyResolver, "Name resolution with no descriptor left: %s threads had a socket but failed in connect((\"localhost\", port)) (%s): the resolver needs a descriptor to read /etc/hosts. Here %s getaddrinfo returns %s (%d) with errno %s (replay/probe.py) and Python raises %s; %s.",
			n(c), join(names[CauseResolver], names[CauseResolverEAI]), pr.Libc, g.Name, g.RC, unix.ErrnoName(syscallErrno(g.Errno)), py, rel)
	}
	if v.NotAccepted > 0 && !served {
		how := ""
		if c := ctr("TcpExt.TCPReqQFullDoCookies"); c > 0 {
			how = fmt.Sprintf(", many by syncookie (TCPReqQFullDoCookies +%s)", n64(c))
		}
		add(&v.Mechanisms, KeyNotAccepted, "Not in fact served: the client held %s established connections, the server's kernel %s (%s handlers). %s are half-connections: the handshake completed on the client's side%s but the full accept queue (backlog %d) dropped the final ACK, and each waits for a retransmission of its data to find room. Silent: the client never reads.",
			n(oc.End.ClientEstab), n(oc.End.ServerEstab), n(handlers), n(v.NotAccepted), how, oc.Backlog)
	} else if v.Side == SideClient {
		add(&v.Mechanisms, KeyServing, "The server kept serving: %s handlers (%d %s) for %s established connections; no client failed on its account.",
			n(handlers), pick(oc.Server == "threaded", oc.EndServerThreads, oc.EndServerProcs), pickS(oc.Server == "threaded", "threads", "processes"), n(oc.End.ClientEstab))
	}

	// What else: handlers that only recv().
	if oc.AfterSeconds > 0 && oc.CPUAfter > oc.CPURun+0.1 {
		add(&v.Other, KeyBusyLoop, "Handlers that only recv(): with the client gone, server CPU went from %.2f to %.2f cores (%d CPUs here) with all %d processes / %d threads still there: recv() returns b'' at once on a closed connection and `while 1` calls it again, a busy loop that never ends%s.",
			oc.CPURun, oc.CPUAfter, oc.CPUs, oc.AfterProcs, oc.AfterThreads,
			pickS(oc.Server == "forked", "; each looping child holds its max_children slot for good", ""))
	}

	// The three settings the author changed, and what would have mattered.
	add(&v.Settings, KeyFileMax, "fs.file-max = %s (system-wide; %s handles in use at the end): not hit. The client hit its per-process RLIMIT_NOFILE (%s), which fs.file-max does not raise.",
		n64(oc.Sysctls["fs.file-max"]), n64(oc.FileNr), n(oc.ClientNoFile))
	drops := "none dropped there during the replay: not hit"
	if oc.SoftnetDrops > 0 {
		drops = fmt.Sprintf("%s packets dropped there during the replay (machine-wide: other loads count too), each one retransmitted by TCP, not a failed connection", n64(oc.SoftnetDrops))
	}
	add(&v.Settings, KeyNetdevBacklog, "net.core.netdev_max_backlog = %s: a CPU's queue of received packets, not a listen queue; %s.",
		n64(oc.Sysctls["net.core.netdev_max_backlog"]), drops)
	add(&v.Settings, KeySomaxconn, "net.core.somaxconn = %s: caps the backlog listen() asks for, but Python asks for request_queue_size = %d and the listener has %d: raising it changed nothing.",
		n64(oc.Sysctls["net.core.somaxconn"]), pr.RequestQueueSize, oc.Backlog)
	if oc.Server == "forked" {
		add(&v.Settings, KeyWouldHave, "would have mattered: ForkingMixIn.max_children (%d) and handlers that end; a larger request_queue_size only lengthens a queue nobody accepts from.", pr.MaxChildren)
	} else {
		add(&v.Settings, KeyWouldHave, "would have mattered: the client's RLIMIT_NOFILE (ulimit -n, %s here), and a larger request_queue_size (%d; somaxconn caps it), which would have queued the connect burst instead of answering it with syncookies.", n(oc.ClientNoFile), pr.RequestQueueSize)
	}
	return v
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
	type kv struct {
		k string
		v int
	}
	var all []kv
	for _, m := range ms {
		for k, v := range m {
			all = append(all, kv{k, v})
		}
	}
	if len(all) == 0 {
		return "none"
	}
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && (all[j].v > all[j-1].v || all[j].v == all[j-1].v && all[j].k < all[j-1].k); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	parts := make([]string, len(all))
	for i, e := range all {
		parts[i] = fmt.Sprintf("%s ×%s", e.k, n(e.v))
	}
	return strings.Join(parts, ", ")
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

// n writes a count with thousands separators.
func n(v int) string { return n64(int64(v)) }

func n64(v int64) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
