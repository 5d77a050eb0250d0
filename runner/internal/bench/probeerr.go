package bench

import (
	"fmt"
	"sync"
	"time"

	"c10klab/runner/internal/results"
)

// probeFailures remembers which reads have failed for one model, so that
// each is recorded once: a cgroup that is gone or a /proc file that cannot
// be read fails again every second, and one event says as much as sixty.
type probeFailures struct {
	mu   sync.Mutex // the step loop and the guard's checks may both report
	seen map[string]bool
}

// first reports whether what has not failed before, and marks it.
func (p *probeFailures) first(what string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[what] {
		return false
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	p.seen[what] = true
	return true
}

// probeFailed records a failed read of the measurement loop or of the
// guard (what is one of results.Probe*) as a results.EventProbeError, the
// first time that read fails for this model; a nil err records nothing.
// Without it a failing read left a zero in the sample or a guard that
// silently stopped checking, and nothing in the run said so.
func (m *measurement) probeFailed(what string, err error) {
	if err == nil || !m.probeErrs.first(what) {
		return
	}
	m.recordEvent(results.Event{Time: time.Now(), Kind: results.EventProbeError, Detail: what,
		Msg: fmt.Sprintf("reading the %s failed: %v; while it fails its figures are missing and the guard may not see what it checks", what, err)})
}
