package replay

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/results"
)

func ip(v int) *int { return &v }

func TestClassify(t *testing.T) {
	tests := []struct {
		op, typ string
		errno   *int
		side    results.Side
		cause   string
		name    string
	}{
		{"socket", "OSError", ip(int(unix.EMFILE)), results.SideClients, CauseClientFDs, "EMFILE"},
		{"connect", "OSError", ip(int(unix.EMFILE)), results.SideClients, CauseResolver, "EMFILE"},
		{"connect", "gaierror", ip(-5), results.SideClients, CauseResolverEAI, "EAI_NODATA"},
		{"connect", "TimeoutError", ip(int(unix.ETIMEDOUT)), results.SideServer, CauseHandshake, "ETIMEDOUT"},
		{"sendall", "ConnectionResetError", ip(int(unix.ECONNRESET)), results.SideServer, CauseReset, "ECONNRESET"},
		{"sendall", "BrokenPipeError", ip(int(unix.EPIPE)), results.SideServer, CauseReset, "EPIPE"},
		{"connect", "ConnectionRefusedError", ip(int(unix.ECONNREFUSED)), results.SideServer, CauseRefused, "ECONNREFUSED"},
		{"sendall", "MemoryError", nil, results.SideUnknown, CauseOther, "MemoryError"},
	}
	for _, tt := range tests {
		side, cause, name := classify(tt.op, tt.typ, tt.errno)
		if side != tt.side || cause != tt.cause || name != tt.name {
			t.Errorf("classify(%s, %s, %v) = %s, %s, %s; want %s, %s, %s", tt.op, tt.typ, tt.errno, side, cause, name, tt.side, tt.cause, tt.name)
		}
	}
}

func TestTallySockets(t *testing.T) {
	// Port 9999 is 270F. A listener with 6 in its accept queue, a server
	// and a client end of one connection, a client waiting in connect(),
	// a client with unacknowledged data, and a stranger on another port.
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:270F 00000000:0000 0A 00000000:00000006 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:270F 0100007F:A001 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:A001 0100007F:270F 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:A002 0100007F:270F 02 00000000:00000000 01:00000100 00000002     0        0 4 1 0000000000000000 100 0 0 10 -1
   4: 0100007F:A003 0100007F:270F 01 0000000C:00000000 01:00000100 00000002     0        0 5 1 0000000000000000 100 0 0 10 -1
   5: 0100007F:1F90 0100007F:A004 01 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 20 4 30 10 -1
`
	var s Sockets
	if err := tallySockets(strings.NewReader(tcp), 9999, &s); err != nil {
		t.Fatal(err)
	}
	want := Sockets{Listening: true, AcceptQueue: 6, ServerEstab: 1, SynSent: 1, ClientEstab: 2, Unacked: 1}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

func TestParseSSBacklog(t *testing.T) {
	b, err := parseSSBacklog([]byte("LISTEN 6      5      127.0.0.1:9999      0.0.0.0:*\n"))
	if err != nil || b != 5 {
		t.Errorf("got %d, %v; want 5", b, err)
	}
	if _, err := parseSSBacklog(nil); err == nil {
		t.Error("no listener: want an error")
	}
}

// TestJudge checks the side and mechanisms the verdict draws from figures
// alone, for the two outcomes the original saw and for one where nothing
// failed.
func TestJudge(t *testing.T) {
	pr := Probe{MaxChildren: 40, RequestQueueSize: 5, Libc: "glibc 2.36", Python: "3.11.2"}
	pr.GetAddrInfo.RC, pr.GetAddrInfo.Name, pr.GetAddrInfo.Errno = -11, "EAI_SYSTEM", int(unix.EMFILE)
	sysctls := map[string]int64{"net.ipv4.tcp_abort_on_overflow": 0, "net.ipv4.tcp_syn_retries": 6, "net.core.somaxconn": 4096}
	fc := func(op, typ string, errno, count int) FailureClass {
		side, cause, name := classify(op, typ, &errno)
		e := errno
		return FailureClass{Op: op, Type: typ, Errno: &e, Name: name, Side: side, Cause: cause, Count: count, First: 1}
	}
	tests := []struct {
		name    string
		oc      Outcome
		side    results.Side
		want    []string
		notWant []string
	}{{
		name: "forked",
		oc: Outcome{
			Server: "forked", Stop: StopDuration, Threads: 10000, ClientNoFile: 4096, Backlog: 5, Sysctls: sysctls,
			Peak:           Peaks{ServerProcs: 41, AcceptQueue: 6, SynSent: 4044, ClientFDs: 4096},
			End:            Sockets{ClientEstab: 46, ServerEstab: 46},
			EndServerProcs: 41, CapSamples: 130, WaitSamples: 130,
			Counters:     map[string]int64{"TcpExt.ListenOverflows": 30000, "TcpExt.ListenDrops": 30000, "TcpExt.TCPSynRetrans": 24000},
			Failures:     []FailureClass{fc("socket", "OSError", int(unix.EMFILE), 5900), fc("connect", "TimeoutError", int(unix.ETIMEDOUT), 4044)},
			AfterSeconds: 5, CPURun: 0.01, CPUAfter: 1.9, AfterProcs: 41,
		},
		side:    results.SideServer,
		want:    []string{KeyChildrenCap, KeyListenBacklog, KeySynDropped, KeyTimeouts, KeyNoResets, KeyClientFDs, KeyBusyLoop},
		notWant: []string{KeyServing, KeyResets},
	}, {
		name: "threaded",
		oc: Outcome{
			Server: "threaded", Stop: StopSettled, Threads: 10000, ClientNoFile: 4096, Backlog: 5, Sysctls: sysctls,
			Peak:           Peaks{ServerProcs: 1, ServerThreads: 4091, ClientFDs: 4096, SynSent: 300},
			End:            Sockets{ClientEstab: 4090, ServerEstab: 4090},
			EndServerProcs: 1, EndServerThreads: 4091,
			Counters: map[string]int64{"TcpExt.ListenOverflows": 700},
			Failures: []FailureClass{fc("socket", "OSError", int(unix.EMFILE), 5880), fc("connect", "OSError", int(unix.EMFILE), 30)},
		},
		side:    results.SideClients,
		want:    []string{KeyClientFDs, KeyResolver, KeyServing, KeySynDropped},
		notWant: []string{KeyChildrenCap, KeyTimeouts, KeyNoResets, KeyBusyLoop},
	}, {
		// A few timeouts among thousands served do not blame the server.
		name: "threaded, a few timeouts",
		oc: Outcome{
			Server: "threaded", Stop: StopSettled, ClientNoFile: 4096, Backlog: 5, Sysctls: sysctls,
			End:              Sockets{ClientEstab: 4000, ServerEstab: 4000},
			EndServerThreads: 4001,
			Failures:         []FailureClass{fc("socket", "OSError", int(unix.EMFILE), 5000), fc("connect", "TimeoutError", int(unix.ETIMEDOUT), 20)},
		},
		side: results.SideClients,
		want: []string{KeyClientFDs, KeyServing, KeyTimeouts},
	}, {
		// Half the connections the client counts established never
		// reached the server: raised nothing, still the client's limit
		// is what failed, and the shortfall is said.
		name: "threaded, half-connections",
		oc: Outcome{
			Server: "threaded", Stop: StopDuration, ClientNoFile: 4096, Backlog: 5, Sysctls: sysctls,
			End:              Sockets{ClientEstab: 4090, ServerEstab: 2030, Unacked: 2060},
			EndServerThreads: 2030,
			Counters:         map[string]int64{"TcpExt.ListenOverflows": 30000, "TcpExt.TCPReqQFullDoCookies": 4059, "TcpExt.SyncookiesRecv": 26000},
			Failures:         []FailureClass{fc("socket", "OSError", int(unix.EMFILE), 5880), fc("connect", "OSError", int(unix.EMFILE), 30)},
		},
		side:    results.SideClients,
		want:    []string{KeyClientFDs, KeyResolver, KeyNotAccepted, KeySynDropped},
		notWant: []string{KeyServing},
	}, {
		// Syncookie half-connections reset after a minute or two: the
		// server's side failed a good share of what got through, and the
		// client's limit failed the rest.
		name: "threaded, resets",
		oc: Outcome{
			Server: "threaded", Stop: StopDuration, ClientNoFile: 4096, Backlog: 5, Sysctls: sysctls,
			End:              Sockets{ClientEstab: 2658, ServerEstab: 2419, Unacked: 239},
			EndServerThreads: 2420,
			Counters:         map[string]int64{"TcpExt.ListenOverflows": 27044, "TcpExt.TCPReqQFullDoCookies": 3375, "Tcp.EstabResets": 1432, "TcpExt.SyncookiesFailed": 1432},
			Failures:         []FailureClass{fc("socket", "OSError", int(unix.EMFILE), 5698), fc("sendall", "ConnectionResetError", int(unix.ECONNRESET), 1432)},
		},
		side:    results.SideBoth,
		want:    []string{KeyClientFDs, KeyResets, KeySynDropped},
		notWant: []string{KeyNoResets, KeyServing},
	}, {
		name:    "nothing failed",
		oc:      Outcome{Server: "threaded", Stop: StopSettled, Sysctls: sysctls, End: Sockets{ClientEstab: 100, ServerEstab: 100}, EndServerThreads: 101},
		side:    "",
		notWant: []string{KeyClientFDs, KeyServing, KeyResolver},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(&tt.oc, pr)
			if v.Side != tt.side {
				t.Errorf("side %q, want %q: %s", v.Side, tt.side, v.Headline)
			}
			for _, k := range tt.want {
				if !v.Has(k) {
					t.Errorf("no %q finding in %+v", k, v.Mechanisms)
				}
			}
			for _, k := range tt.notWant {
				if v.Has(k) {
					t.Errorf("unexpected %q finding", k)
				}
			}
			for _, k := range []string{KeyFileMax, KeyNetdevBacklog, KeySomaxconn, KeyWouldHave} {
				if !v.Has(k) {
					t.Errorf("no %q setting", k)
				}
			}
		})
	}
}
