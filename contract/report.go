package contract

import (
	"encoding/json"
	"time"
)

// Report kinds a model may emit. A consumer records any kind; these are
// the ones the diagnosis knows how to explain.
const (
	KindAccept  = "accept"   // accept() failed
	KindThread  = "thread"   // creating an OS thread failed
	KindFork    = "fork"     // creating a process failed
	KindForkCap = "fork_cap" // the cap on children was reached; accepting paused
	KindRead    = "read"     // read on a connection failed
	KindWrite   = "write"    // write on a connection failed
)

// Kind documents one report kind; Kinds is the list of models/README.md.
type Kind struct {
	Name    string
	Meaning string
}

// Kinds lists the known report kinds in the order models/README.md shows
// them.
func Kinds() []Kind {
	return []Kind{
		{KindAccept, "accept() failed"},
		{KindThread, "thread creation failed"},
		{KindFork, "process creation failed"},
		{KindForkCap, "cap on children reached, accepting paused"},
		{KindRead, "read on a connection failed"},
		{KindWrite, "write on a connection failed"},
	}
}

// Report is one failure-report line a model writes on stdout: a JSON
// object on a line of its own. Count is how many times the event happened
// since the previous line of the same kind and errno; Conns is how many
// connections the instance held then.
type Report struct {
	Time     time.Time `json:"time"`
	Model    string    `json:"model"`
	Instance int       `json:"instance"`
	Kind     string    `json:"kind"`
	Errno    string    `json:"errno,omitempty"` // symbolic: "EMFILE"; "" when there is none
	Count    int64     `json:"count"`
	Conns    int64     `json:"conns"`
	Msg      string    `json:"msg,omitempty"`
}

// ParseReport reads one stdout line. ok is false for a line that is not a
// report (not a JSON object, or no kind): the contract lets a model print
// other things, and they are ignored.
func ParseReport(line []byte) (r Report, ok bool) {
	if json.Unmarshal(line, &r) != nil || r.Kind == "" {
		return Report{}, false
	}
	return r, true
}
