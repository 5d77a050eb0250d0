package cli

import (
	"io"
	"sync"
)

// brokenSafe is a writer that outlives its reader: after the first failed
// write (the reader of `c10klab bench | head -1` has exited: EPIPE) it
// calls onBreak once and then accepts and drops everything, so a closed
// terminal or pipe costs the progress lines, never the run. The runner
// must also catch SIGPIPE (signal.Notify), or Go dies of the first write
// to a closed stdout.
type brokenSafe struct {
	mu      sync.Mutex
	w       io.Writer
	err     error
	onBreak func(error)
}

func (b *brokenSafe) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return len(p), nil
	}
	if _, err := b.w.Write(p); err != nil {
		b.err = err
		if b.onBreak != nil {
			b.onBreak(err)
		}
	}
	return len(p), nil
}

// Broken returns the error that closed the writer, or nil.
func (b *brokenSafe) Broken() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
