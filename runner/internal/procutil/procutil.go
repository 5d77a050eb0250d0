// Package procutil holds the small process chores the runner repeats:
// keeping the tail of a child's stderr and signalling process groups.
package procutil

import (
	"bytes"
	"strings"
	"sync"
	"syscall"

	"c10klab/runner/internal/results"
)

// Tail is an io.Writer that keeps the last n lines written to it, so a
// child's stderr can be quoted in an error without being kept whole.
type Tail struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  []byte
}

// NewTail keeps the last n lines.
func NewTail(n int) *Tail { return &Tail{n: n} }

// Write implements io.Writer.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.push(string(t.part[:i]))
		t.part = t.part[i+1:]
	}
	if len(t.part) > 4096 { // a very long line: keep it as a line
		t.push(string(t.part))
		t.part = nil
	}
	return len(p), nil
}

func (t *Tail) push(line string) {
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// String returns the kept lines joined by " | ".
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.part) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(t.part))
	}
	return strings.Join(lines, results.StderrSep)
}

// SignalGroup sends sig to the process group led by pgid. A group that is
// already gone is not an error.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	err := syscall.Kill(-pgid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}

// KillGroup sends SIGKILL to the process group led by pgid.
func KillGroup(pgid int) error { return SignalGroup(pgid, syscall.SIGKILL) }
