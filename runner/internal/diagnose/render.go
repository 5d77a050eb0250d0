package diagnose

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Cause is a diagnosis before it is a sentence: the recorded cause (side,
// mechanism, figures, evidence) and the clauses the sentence is made of.
type Cause struct {
	results.Cause
	// Lead are clauses that explain the finding and so come before it,
	// each followed by ": " (the work per message, the machine's CPU).
	Lead []string
	// Body is the finding.
	Body string
	// Notes are clauses that back it, each after "; ".
	Notes []string
}

// lead puts a clause before those already leading.
func (c *Cause) lead(s string) { c.Lead = append([]string{s}, c.Lead...) }

// note adds a clause after the finding, and to the recorded evidence.
func (c *Cause) note(s string) {
	c.Evidence = append(c.Evidence, s)
	c.Notes = append(c.Notes, s)
}

// render writes the sentence: "side: lead: finding; note; note". A cause
// with no side (nothing failed) starts with the finding itself.
func render(c Cause) string {
	var b strings.Builder
	if c.Side != results.SideNone {
		b.WriteString(string(c.Side) + ": ")
	}
	for _, l := range c.Lead {
		b.WriteString(l + ": ")
	}
	b.WriteString(c.Body)
	for _, s := range c.Notes {
		b.WriteString("; " + s)
	}
	return b.String()
}

// The phrases below write one measured fact each, from its figures.

func (s saturation) String() string {
	if !s.full {
		return ""
	}
	return fmt.Sprintf("the model's CPU was saturated (%.0f%% of %d CPU)", 100*s.busy, s.cpus)
}

// String says who used the CPUs the model ran on: the model, its
// traffic's softirqs, c10klab's own processes and unrelated work.
func (s cpuShare) String() string {
	var why string
	if s.pinned != nil {
		why = fmt.Sprintf("the model's CPU (%s) was full (%.2f of %d busy): the model %.2f, the softirqs delivering its traffic %.2f, the rest %.2f — c10klab's agents and runner up to %.2f of it (they used %.2f and %.2f CPU in all), unrelated work at least %.2f",
			units.Ints(s.pinned), s.busy, s.cpus, s.model, s.softirq, s.rest, s.own, s.agents, s.runner, s.unrelated)
	} else {
		why = fmt.Sprintf("the machine's CPUs were full (%.2f of %d busy: the model %.2f, c10klab's agents %.2f and runner %.2f, the kernel and the rest %.2f) and the model, sharing its CPU with the swarm, got %.2f of its %d; unrelated work at least %.2f",
			s.busy, s.cpus, s.model, s.agents, s.runner, s.rest, s.model, s.mine, s.unrelated)
	}
	if o := othersText(s.others, s.hold); o != "" {
		why += "; " + o
	}
	return why
}

// verdict says why the step measured the machine: the unrelated work it
// took, against what the model needed.
func (s cpuShare) verdict() string {
	return fmt.Sprintf("unrelated work took at least %.2f of the model's %d CPU (a machine limit from %.2f), and the model, at %.0f µs of CPU per echo, needed %.2f CPU for the echoes due where it got %.2f",
		s.unrelated, s.mine, MachineShare*float64(s.mine), s.perEcho*1e6, s.need, s.model)
}

func (w waitFigures) String() string {
	return fmt.Sprintf("the model's threads queued for a CPU, %.1f of them at a time on average (schedstat: %.1f thread-seconds in the %.0f s window)",
		w.wait/w.hold, w.wait, w.hold)
}

func (s stallFigures) String() string {
	return fmt.Sprintf("tasks waited on memory %.0f%% of the window (%.1f s of %.0f s, /proc/pressure/memory)",
		100*s.stall/s.hold, s.stall, s.hold)
}

func (q queueFigures) String() string {
	var parts []string
	if q.overflows > 0 {
		parts = append(parts, fmt.Sprintf("the listen queue overflowed %d times (TcpExt.ListenOverflows)", q.overflows))
	}
	if q.synDrops > 0 {
		parts = append(parts, fmt.Sprintf("%d SYNs were dropped with the SYN queue full", q.synDrops))
	}
	return strings.Join(parts, ", ")
}

// othersText names the busiest processes outside the model and the
// agents over the window.
func othersText(others []results.ProcCPU, hold float64) string {
	if len(others) == 0 || hold <= 0 {
		return ""
	}
	parts := make([]string, len(others))
	for i, o := range others {
		parts[i] = fmt.Sprintf("%s (pid %d) %.2f CPU", o.Comm, o.PID, o.CPU/hold)
	}
	return "the busiest other processes on the machine: " + strings.Join(parts, ", ")
}

// perConnection says when the model runs a process or a thread per
// connection, with the counts that show it.
func perConnection(st *results.Step, held int) string {
	conns := max(held, st.Sustained)
	if conns < 20 {
		return ""
	}
	switch {
	case st.Model.Procs >= conns*8/10:
		return fmt.Sprintf("a process per connection: %s processes for %s connections", n(st.Model.Procs), n(conns))
	case st.Model.Threads >= conns*8/10:
		return fmt.Sprintf("a thread per connection: %s threads for %s connections", n(st.Model.Threads), n(conns))
	}
	return ""
}

func threadLimits(env results.Environment) string {
	var parts []string
	for _, l := range env.Limits {
		if slices.Contains(results.ThreadLimits, l.Name) {
			parts = append(parts, fmt.Sprintf("%s %s", l.Name, l.Value))
		}
	}
	if len(parts) == 0 {
		return "a thread or process limit"
	}
	return "thread limits here: " + strings.Join(parts, ", ")
}

// openFiles is the open-files limit of each model process: the run's
// own, else the environment's soft limit ("?" when unknown).
func openFiles(in Input) string {
	if in.Config.ModelNoFile > 0 {
		return strconv.Itoa(in.Config.ModelNoFile)
	}
	return limitValue(in.Env, results.LimitNoFileSoft)
}

func limitValue(env results.Environment, name string) string {
	for _, l := range env.Limits {
		if l.Name == name {
			return l.Value
		}
	}
	return "?"
}

func failureSummary(st *results.Step) string {
	if st == nil || len(st.Failures) == 0 {
		if st != nil && !st.OK {
			return fmt.Sprintf("only %s of %s offered connections sustained", n(st.Sustained), n(st.Offered))
		}
		return "no classified failure"
	}
	return units.Tally(st.Failures)
}

func exitHow(x *results.Exit) string {
	if x.Signal != "" {
		return "signal " + x.Signal
	}
	return fmt.Sprintf("exit status %d", x.Code)
}

// n is the sentences' exact count, 19,990: a short name for the figure
// most of them carry.
func n(v int) string { return units.Grouped(v) }
