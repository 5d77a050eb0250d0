// Package swarm is the client side of a run: agent processes that each hold
// up to their open-files limit of connections in one epoll loop, and the
// controller in the runner that starts them, shares the offered connections
// among them and sums what they measure.
//
// The runner and an agent talk in JSON lines: commands on the agent's
// stdin, one Status a second on its stdout.
package swarm

import (
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"c10klab/runner/internal/results"
)

// Command is one line the runner sends an agent. A line with Window or
// Evaluate set is about the evaluation window and leaves the target alone.
type Command struct {
	// Target is how many connections the agent should hold. Raising it
	// opens more at the agent's rate; every new target also re-opens
	// connections that failed since the last one.
	Target int `json:"target"`
	// Window, when positive, starts evaluation window number Window now.
	Window int `json:"window,omitempty"`
	// Evaluate, when positive, ends window number Evaluate: the agent
	// sends a status at once whose WindowSustained counts it.
	Evaluate int `json:"evaluate,omitempty"`
	// Hostile more connections, beyond Target, misbehave as HostileKind
	// (see HostileKinds); they are counted apart.
	Hostile     int    `json:"hostile,omitempty"`
	HostileKind string `json:"hostile_kind,omitempty"`
	// Seq, when positive on a target command, asks for a status at once
	// that acknowledges it (Status.Acked): the runner then knows every
	// status after it describes the new target, not the old one.
	Seq int `json:"seq,omitempty"`
	// Report, when positive, asks for a status at once that answers it
	// (Status.Acked), and nothing else: the command changes no target.
	// The runner asks between the once-a-second statuses when it is
	// waiting on the swarm (a ramp done, a step settled), so that the wait
	// ends when the swarm is there, not at the next whole second.
	Report int `json:"report,omitempty"`
}

// Check refuses a command no agent can carry out.
func (c Command) Check() error {
	switch {
	case c.Target < 0 || c.Target > MaxTarget:
		return fmt.Errorf("target %d outside 0..%d", c.Target, MaxTarget)
	case c.Window < 0 || c.Evaluate < 0 || c.Report < 0:
		return fmt.Errorf("window %d / evaluate %d / report %d: must not be negative", c.Window, c.Evaluate, c.Report)
	case c.Report > 0 && (c.Window > 0 || c.Evaluate > 0 || c.Target > 0 || c.Hostile > 0):
		return fmt.Errorf("a report command %d carries nothing else", c.Report)
	case c.Window > 0 && c.Evaluate > 0:
		return fmt.Errorf("one command cannot start window %d and end window %d", c.Window, c.Evaluate)
	case c.Hostile < 0 || c.Target+c.Hostile > MaxTarget:
		return fmt.Errorf("target %d + hostile %d outside 0..%d", c.Target, c.Hostile, MaxTarget)
	case c.Hostile > 0 && c.HostileKind == "":
		return fmt.Errorf("%d hostile connections of no kind", c.Hostile)
	}
	return CheckHostile(c.HostileKind)
}

// Status is one line an agent sends about once a second. Counters are
// cumulative since the agent started; Hist holds only the echoes completed
// since the previous status.
type Status struct {
	Agent  int       `json:"agent"`
	Time   time.Time `json:"time"`
	Target int       `json:"target"`
	// SwarmCounters are this agent's share of the swarm's counts
	// (Collect sums them over agents).
	results.SwarmCounters
	Opened   int64   `json:"opened"` // connections opened, cumulative
	LagMaxMs float64 `json:"lag_max_ms"`
	// Wakes counts the times the agent's loop slept and woke; cumulative.
	// The agent's own overhead: a tick it did not need is a wake.
	Wakes int64 `json:"wakes,omitempty"`
	// Evaluated is the window this status ends (0: an ordinary status);
	// WindowSustained counts the connections open through all of that
	// window whose every echo due in it came back intact and on time,
	// and which echoed at least once in it.
	Evaluated int `json:"evaluated,omitempty"`
	// WindowOpened is the window this status starts, sent at once when it
	// starts, so that the window's counts begin from fresh counters.
	WindowOpened int `json:"window_opened,omitempty"`
	// Acked is the Seq of the target command, or the Report, this status
	// answers at once.
	Acked           int    `json:"acked,omitempty"`
	WindowSustained int    `json:"window_sustained,omitempty"`
	Hist            []byte `json:"hist,omitempty"` // HDR histogram, V2 compressed, microseconds
	// Hostile is the misbehaving connections' side, when there are any.
	Hostile *results.Hostile `json:"hostile,omitempty"`
	Err     string           `json:"err,omitempty"` // the agent stopped because of this
}

// Latency histograms record microseconds from 1 µs to 60 s at 3 significant
// figures.
const (
	histMin = 1
	histMax = 60_000_000
	histSig = 3
)

// NewHist returns an empty latency histogram in microseconds.
func NewHist() *hdr.Histogram { return hdr.New(histMin, histMax, histSig) }

// Percentiles summarises a microsecond histogram in milliseconds.
func Percentiles(h *hdr.Histogram) results.Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return results.Percentiles{}
	}
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return results.Percentiles{
		Count: h.TotalCount(),
		P50:   ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9),
		Max: float64(h.Max()) / 1000,
	}
}

func decodeHist(b []byte) (*hdr.Histogram, error) {
	h, err := hdr.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode latency histogram: %w", err)
	}
	return h, nil
}
