package replay

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"c10klab/runner/internal/results"
)

// Files of a replay inside its run folder.
const (
	ReplayFile   = "replay.json" // configuration, probe, one Outcome per server
	ReplayReport = "REPLAY.md"
	ChartName    = "replay-timeline" // .png and .svg
)

// RecordsPath names a server's records: one JSON object a line, in the
// timeline layout of package results.
func RecordsPath(dir, server string) string { return results.TimelinePath(dir, recordsName(server)) }

func recordsName(server string) string { return "replay-" + server }

// Record is one line of replay-<server>.jsonl. Exactly one payload is set.
type Record struct {
	Type      string         `json:"type"` // "sample", "exception", "event"
	Sample    *Sample        `json:"sample,omitempty"`
	Exception *Exception     `json:"exception,omitempty"`
	Event     *results.Event `json:"event,omitempty"`
}

// Sample is what the replay saw of both sides in about one second.
type Sample struct {
	Time    time.Time `json:"time"`
	Elapsed float64   `json:"elapsed"` // seconds since the client started
	Phase   string    `json:"phase"`   // PhaseRun or PhaseAfter (the client killed)
	// Server and Client are the process trees (processes, threads, fds,
	// memory, cumulative CPU).
	Server results.Proc `json:"server"`
	Client results.Proc `json:"client"`
	// ServerSyscall is the system call the server's main thread is blocked
	// in (/proc/PID/syscall), -1 while it runs.
	ServerSyscall int `json:"server_syscall"`
	// Sockets on the replay's port, by side and state.
	Sockets Sockets `json:"sockets"`
	// Counters are the namespace's TCP counters, cumulative since the
	// baseline taken before the client started.
	Counters map[string]int64 `json:"counters,omitempty"`
	// Exceptions is how many client threads have reported one, cumulative.
	Exceptions int `json:"exceptions"`
}

// Sample phases.
const (
	PhaseRun   = "run"
	PhaseAfter = "after" // the client is gone; the server's handlers remain
)

// Sockets counts the TCP sockets of the replay's port, from the
// namespace's /proc/net/tcp{,6}.
type Sockets struct {
	// AcceptQueue is the listener's accept queue: connections the kernel
	// completed that the server has not accept()ed (ss Recv-Q).
	AcceptQueue int  `json:"accept_queue"`
	Listening   bool `json:"listening"`
	// ServerEstab are established sockets on the server's side (accepted
	// or waiting in the accept queue); SynRecv are handshakes the listener
	// answered and waits to complete.
	ServerEstab int `json:"server_estab"`
	SynRecv     int `json:"syn_recv"`
	// Client side: SynSent are connect()s still waiting for a SYN-ACK;
	// ClientEstab are established; Unacked are established client sockets
	// holding data the server's kernel has not acknowledged.
	SynSent     int `json:"syn_sent"`
	ClientEstab int `json:"client_estab"`
	Unacked     int `json:"unacked"`
	// Closing: client sockets in any other state (FIN-WAIT, CLOSE-WAIT...).
	Closing int `json:"closing"`
}

// Exception is one client thread's exception, as its wrapper reported it
// (replay/original/client.py).
type Exception struct {
	Index    int     `json:"index"`    // the connection's index, 0-based, in start order
	Time     float64 `json:"time"`     // Unix seconds, from the client
	Elapsed  float64 `json:"elapsed"`  // seconds since the client started
	Type     string  `json:"type"`     // Python exception class
	Errno    *int    `json:"errno"`    // OSError errno; negative for gaierror (an EAI_* code)
	Strerror string  `json:"strerror"` // as Python gave it; never used to judge
	Op       string  `json:"op"`       // the statement that raised: socket, connect, sendall...
	Threads  int     `json:"threads"`  // live threads in the client then
	// ClientFDs is the client's open descriptors when the report was read
	// (the latest sample's count on kernels before 6.2).
	ClientFDs int `json:"client_fds"`
}

// createRecords opens a server's records for appending: a
// results.Timeline, one write(2) per record, so what was appended
// survives a crash of the runner, and the first failed write is kept.
func createRecords(dir, server string) (*results.Timeline, error) {
	return results.CreateTimeline(dir, recordsName(server))
}

// appendRecord writes r to the server's records.
func appendRecord(tl *results.Timeline, r Record) error { return tl.AppendValue(r.Type, r) }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return results.WriteBytes(path, append(b, '\n'))
}
