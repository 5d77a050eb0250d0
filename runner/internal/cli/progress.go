package cli

import (
	"fmt"
	"io"
	"os"
	"sync"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/live"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// progress prints the record stream of a run as it happens: a line per
// step, events and the model's first reports, and (package live) a status
// line rewritten in place on a terminal, or a plain one at most every 10 s
// in a log.
type progress struct {
	mu      sync.Mutex
	display *live.Display
	tracker *live.Tracker
	// quiet prints the step lines only: no events, reports or status.
	quiet bool
	// reported holds the server report kinds already printed for a model;
	// a model failing accept() in a loop reports every second.
	reported map[string]int64
}

// newProgress prints the progress of a run of opt to w, which is a
// terminal when tty (width then gives its columns).
func newProgress(w io.Writer, tty bool, width func() int, quiet bool, opt bench.Options) *progress {
	repeat := max(opt.Repeat, 1)
	return &progress{
		display: live.NewDisplay(w, tty, width),
		tracker: live.NewTracker(live.Plan{Steps: bench.StepTimes(opt), Measurements: len(opt.Specs) * repeat, PerModel: repeat, Budget: bench.SharedBudget(opt)}),
		quiet:   quiet,
	}
}

// terminal reports whether w is a terminal, and how to read its width.
func terminal(w io.Writer) (bool, func() int) {
	f, ok := w.(*os.File)
	if !ok || !live.IsTerminal(int(f.Fd())) {
		return false, nil
	}
	fd := int(f.Fd())
	return true, func() int { return live.Width(fd) }
}

// done takes the status line off the screen: the run is over, and what
// follows (the summary) is written past the progress.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.display.Clear()
}

// aside runs write, which writes to the terminal other than through p
// (the Ctrl-C notice, on stderr), with the status line off the screen.
func (p *progress) aside(write func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.display.Aside(write)
}

func (p *progress) observe(label string, r results.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tracker.Observe(label, r)
	p.print(label, r)
	if !p.quiet {
		now := live.Time(r)
		p.display.Status(p.tracker.State(now), now)
	}
}

func (p *progress) print(label string, r results.Record) {
	line := func(format string, args ...any) { p.display.Line(fmt.Sprintf(format, args...)) }
	switch {
	case r.Step != nil:
		st := r.Step
		verdict := "ok"
		if !st.OK {
			verdict = "NOT SUSTAINED"
		}
		if st.Untrusted != "" {
			verdict += " (untrusted: " + st.Untrusted + ")"
		}
		line("[%s] step %d: offered %6d  open %6d  sustained %6d  failures %-5d p99 %s  %s",
			label, st.Index, st.Offered, st.Open, st.Sustained, analysis.Total(st.Failures)+analysis.Total(st.ClientFailures), stepP99(st.Latency), verdict)
		if len(st.Failures) > 0 {
			line("[%s]         failures: %s", label, units.Tally(st.Failures))
		}
		if len(st.ServerReports) > 0 {
			line("[%s]         server reports: %s", label, units.Tally(st.ServerReports))
		}
		if len(st.ClientFailures) > 0 {
			line("[%s]         client-side: %s", label, units.Tally(st.ClientFailures))
		}
	case r.Event != nil && !p.quiet:
		line("[%s] %s: %s", label, r.Event.Kind, r.Event.Msg)
	case r.Report != nil && !p.quiet:
		rep := r.Report
		key := label + "/" + rep.Kind + "/" + rep.Errno
		if p.reported == nil {
			p.reported = map[string]int64{}
		}
		if _, seen := p.reported[key]; !seen {
			line("[%s] server reports: %s %s at %d connections (instance %d); repeats are counted in the step lines",
				label, rep.Kind, rep.Errno, rep.Conns, rep.Instance)
		}
		p.reported[key] += rep.Count
	}
}

// stepP99 writes a step's window p99 in the step line's column, as the
// status line does: "—" for a window in which no echo came back, whose p99
// of 0 would be no figure, and µs below a millisecond, where "%.2f ms"
// printed a p99 under 5 µs as 0.00 ms.
func stepP99(l results.Percentiles) string {
	return fmt.Sprintf("%9s", live.P99(l.Count, l.P99))
}
