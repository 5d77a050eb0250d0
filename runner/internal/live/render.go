// Package live is the terminal's view of a run while it happens: a status
// line rewritten in place on a terminal, plain lines at most every 10 s in
// a log or a pipe, and the run's position with an estimate of the time
// left. It reads only the record stream (bench.Options.Observe) and takes
// its clock from the records' own times, so what it shows is a function of
// that stream: the tests replay one.
package live

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"c10klab/runner/internal/units"
)

// Phases a status line can show. The first three are the step's parts as
// the samples record them (results.Sample.Phase); the others come from
// the run's events.
const (
	PhaseRamp     = "ramp"
	PhaseSettle   = "settle"
	PhaseWindow   = "window"
	PhaseStarting = "starting" // the model starts, is checked, the swarm starts
	PhaseStopping = "stopping" // the swarm closes, the model stops, the kernel frees the sockets
)

// measuring reports whether phase is a step's, with counts to show.
func measuring(phase string) bool {
	return phase == PhaseRamp || phase == PhaseSettle || phase == PhaseWindow
}

// State is everything the status line shows.
type State struct {
	Label    string
	Phase    string        // one of the Phase* constants; "": no status line
	PhaseFor time.Duration // how long the phase has lasted

	Offered, Open, Sustained int
	// Rate is the net change of open connections per second since the
	// sample before (opened less closed); valid when HasRate.
	Rate    float64
	HasRate bool
	LagMs   float64 // the swarm's worst lag behind its send schedule in the last second
	// Echoes is how many echoes came back in the last second, and P99Ms
	// their 99th percentile, which means nothing when Echoes is 0.
	Echoes                   int64
	P99Ms                    float64
	Failures, ClientFailures int64 // since the model started

	Model, Models int           // the measurement's position, from 1; Models 0: unknown
	Step, Steps   int           // the step's position, from 1 (0: none yet), and the planned steps
	Left          time.Duration // estimated time left in the whole run; < 0: unknown
}

// Render writes the status line of s, at most width columns wide (0: no
// limit). When the line is too wide it drops, in turn, the p99, the lag,
// the connect rate, the failures and the phase's duration, then writes
// the counts and the position short, and last cuts the line: the counts
// and the position matter most.
func Render(s State, width int) string {
	if s.Phase == "" {
		return ""
	}
	var line string
	for level := keepAll; level <= short; level++ {
		line = renderAt(s, level)
		if width <= 0 || utf8.RuneCountInString(line) <= width {
			return line
		}
	}
	r := []rune(line)
	return string(r[:max(width-1, 0)]) + "…"
}

// What a narrow line gives up, in this order.
const (
	keepAll = iota
	dropP99
	dropLag
	dropRate
	dropFailures
	dropPhaseFor
	short // offered with open ("open 123k/300k"), the position without words
)

func renderAt(s State, level int) string {
	head := "[" + s.Label + "] " + s.Phase
	if s.PhaseFor >= time.Second && level < dropPhaseFor {
		head += " " + s.PhaseFor.Round(time.Second).String()
	}
	out := []string{head}
	if measuring(s.Phase) {
		if level < short {
			out = append(out, "offered "+units.Count(float64(s.Offered)), "open "+units.Count(float64(s.Open)))
		} else {
			out = append(out, "open "+units.Count(float64(s.Open))+"/"+units.Count(float64(s.Offered)))
		}
		out = append(out, "sustained "+units.Count(float64(s.Sustained)))
		if s.HasRate && level < dropRate {
			sign := ""
			if s.Rate > 0 {
				sign = "+"
			}
			out = append(out, sign+units.Count(s.Rate)+" conn/s")
		}
		if level < dropLag {
			out = append(out, "lag "+Lag(s.LagMs))
		}
		if level < dropP99 {
			out = append(out, "p99 "+P99(s.Echoes, s.P99Ms))
		}
		if level < dropFailures {
			out = append(out, failures(s.Failures, s.ClientFailures))
		}
	}
	if pos := position(s, level >= short); pos != "" {
		out = append(out, pos)
	}
	return strings.Join(out, " · ")
}

// Position writes where the run is: "model 5 of 17, step 3 of 5, about 6
// min left". A step past the plan (a capacity search adds some) has no
// "of".
func Position(s State) string { return position(s, false) }

// position writes Position, or with short "model 5/17 step 3/5 ~6 min".
func position(s State, short bool) string {
	var p []string
	if s.Model > 0 {
		p = append(p, ofTotal("model", s.Model, s.Models, short))
	}
	if s.Step > 0 && measuring(s.Phase) {
		p = append(p, ofTotal("step", s.Step, s.Steps, short))
	}
	if s.Left >= 0 {
		if short {
			p = append(p, shortLeft(s.Left))
		} else {
			p = append(p, Left(s.Left))
		}
	}
	if short {
		return strings.Join(p, " ")
	}
	return strings.Join(p, ", ")
}

func ofTotal(what string, i, n int, short bool) string {
	switch {
	case i > n:
		return fmt.Sprintf("%s %d", what, i)
	case short:
		return fmt.Sprintf("%s %d/%d", what, i, n)
	}
	return fmt.Sprintf("%s %d of %d", what, i, n)
}

// Left writes an estimate of time left no finer than it can be: the
// estimate is made of whole steps and of other models' behaviour, so
// seconds are rounded to ten and minutes kept whole.
func Left(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return "a few seconds left"
	case d < 90*time.Second:
		return fmt.Sprintf("about %d s left", int(d.Round(10*time.Second)/time.Second))
	case d < 90*time.Minute:
		return fmt.Sprintf("about %d min left", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(5 * time.Minute)
	return fmt.Sprintf("about %d h %d min left", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// shortLeft is Left in a narrow line: "~6 min".
func shortLeft(d time.Duration) string {
	if d < 10*time.Second {
		return "<10 s"
	}
	return "~" + strings.TrimSuffix(strings.TrimPrefix(Left(d), "about "), " left")
}

// P99 writes a 99th percentile, or "—" when no echo came back: a 0 there
// would be a figure below its resolution, not a fast server. The swarm's
// histograms start at 1 µs (an echo faster than that is recorded as 1 µs),
// so a p99 under it with echoes is "< 1 µs", never 0.
func P99(echoes int64, ms float64) string {
	switch {
	case echoes == 0:
		return "—"
	case ms < latencyResolutionMs:
		return "< 1 µs"
	}
	return units.Millis(ms)
}

// latencyResolutionMs is the smallest latency the swarm records (its
// histograms' lowest value, 1 µs).
const latencyResolutionMs = 0.001

// Lag writes the swarm's worst lag behind its send schedule in the last
// second, or "—" when it is 0: the agents time each send in nanoseconds
// and a timer never fires early, so a lag of exactly 0 means no message
// was due that second, not a swarm without lag.
func Lag(ms float64) string {
	if ms <= 0 {
		return "—"
	}
	return units.Millis(ms)
}

func failures(server, client int64) string {
	s := "failures " + units.Count(float64(server+client))
	if client > 0 {
		s += " (" + units.Count(float64(client)) + " client-side)"
	}
	return s
}
