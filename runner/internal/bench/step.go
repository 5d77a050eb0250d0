package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/swarm"
)

// phase is where a step is.
type phase int

const (
	ramping  phase = iota // opening the step's new connections
	settling              // waiting, bounded, until every open connection is served on time
	judging               // the evaluation window
)

// stepRun is the state of one step while it runs.
type stepRun struct {
	index, offered int
	start          time.Time
	before         results.Sample // the last sample before the step
	phase          phase
	rampEnd        time.Time
	settleEnd      time.Time
	settled        bool
	rampTime       time.Duration       // the ramp's time at the swarm's rate: none ends sooner
	served         int                 // the most connections served on time (or fresh) in the settle so far
	servedAt       time.Time           // when that count last grew
	window         *results.Sample     // the sample at which the window began
	opened         swarm.Evaluation    // the agents' counters as the window began
	procsAtWindow  *probe.CPUByProcess // every process's CPU as the window began
	waitAtWindow   *probe.DelayMark    // the model's run delay as the window began (nil: unread)
	rampHist       *hdr.Histogram      // echoes of the ramp and the settle
	behind         int                 // seconds in a row the swarm was behindLag deadlines late
	windowHist     *hdr.Histogram      // echoes of the window
}

// A step whose swarm is behindLag deadlines behind its send schedule for
// behindFor samples in a row before its window ends there.
const (
	behindLag = 2
	behindFor = 5
)

// checkEvery is how often a step waiting on the swarm (its ramp to open
// the offer, its settle to serve it) asks the agents where they are,
// between the once-a-second samples: a fifth of the interval, so that the
// wait ends within a fifth of an interval of the swarm getting there;
// none when that is a second or more (the scale profile's message a
// minute: its ramps and settles take tens of seconds, and a hundred
// agents answering five times a second would cost more than it saves).
// On the whole second, a held step at the default profile took 4-5 s: a
// ramp of 1 s where the swarm opened a tenth more in a fraction of one,
// a settle of 1-2 s, and the 2 s hold (127 of 129 held steps of run
// 20261203-202001 ramped and settled in whole seconds).
func checkEvery(interval time.Duration) time.Duration {
	if every := interval / 5; every < time.Second {
		return every
	}
	return 0
}

// swarmThere asks the agents for their counts now and reports whether the
// phase sr waits in is over by them: the ramp, once every offered
// connection is open; the settle, once every open one is served
// (settled). The step's other ends (a stalled ramp, a settle that stops
// gaining or runs out) are decided on the seconds' samples, as before. An
// agent that does not answer in time is taken as not there yet: the next
// sample decides.
func (m *measurement) swarmThere(sr *stepRun) bool {
	// Nor asked before the ramp can be done: an answer costs each agent
	// its status, the latency histogram encoded (0.75 ms).
	if sr.phase == judging || sr.phase == ramping && time.Since(sr.start) < sr.rampTime {
		return false
	}
	ev, err := m.sw.Report(time.Second)
	if err != nil {
		return false
	}
	if sr.phase == ramping {
		return ev.Counters.Open >= sr.offered
	}
	return settled(ev.Counters)
}

// settled reports whether the swarm's counts say every open connection is
// served: no connection still connecting, and every open one sustained or
// not yet due an echo (fresh: at a message a minute, waiting for the fresh
// ones would make the settle a minute long whatever the model does, and
// the window, an interval and a deadline, judges them anyway).
func settled(c results.SwarmCounters) bool {
	return c.Connecting == 0 && c.Sustained+c.Fresh >= c.Open
}

// settleMax bounds a step's settle: a model that accepts slowly (a thread
// or a process per connection) gets this long to serve what the clients
// opened before the window begins regardless.
func (m *measurement) settleMax() time.Duration {
	if m.opt.SettleMax > 0 {
		return m.opt.SettleMax
	}
	return connectTimeout + 2*m.opt.Interval
}

// step raises the offered connections to offered and runs the step's three
// parts: the ramp (the new connections open at the swarm's rate), the
// settle (until the model serves every open connection on time, bounded),
// and the evaluation window, in which a connection counts as sustained
// only if every echo due in it came back intact and on time. It returns
// the step (nil if it never got to the point of one) and, when the run of
// this model must end, why.
func (m *measurement) step(ctx context.Context, index int, p planned) (*results.Step, *stopCause) {
	offered := p.offered
	sr := &stepRun{index: index, offered: offered, start: time.Now(), before: m.last,
		rampHist: swarm.NewHist(), windowHist: swarm.NewHist()}
	m.current = sr // labels the samples with the step's phase
	if err := m.sw.SetTargets(offered, p.hostile, p.kind); err != nil {
		// An agent that died between steps cannot take its target: the
		// step is the swarm's, recorded at the offer it was for.
		select {
		case derr := <-m.sw.Died():
			return m.agentDied(sr, derr)
		case <-time.After(time.Second):
		}
		return nil, &stopCause{stop: results.StopError, err: err}
	}
	m.mu.Lock()
	m.reportsAtStepStart = maps.Clone(m.reportCounts)
	m.mu.Unlock()
	m.stepLagMs = 0
	// The ramp ends when every offered connection is open, or once the
	// ramp allowed time to open them and it stalled (below), or at half
	// that again plus the connect timeout.
	ramp := swarm.SwarmRamp(m.opt.Rate, m.opt.RampDoubling)
	minRamp := ramp.Time(sr.before.Swarm.Open, offered+p.hostile-sr.before.Swarm.Open) + 500*time.Millisecond
	// The agents pause their ramps while they are behind on their sends
	// (swarm.pauseLagDiv), so a ramp may take longer than its rate says:
	// it goes on while connections still open, up to half as long again.
	maxRamp := minRamp*3/2 + connectTimeout
	lastGrowth, lastOpen := sr.start, sr.before.Swarm.Open
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var checks <-chan time.Time
	if every := checkEvery(m.opt.Interval); every > 0 {
		c := time.NewTicker(every)
		defer c.Stop()
		checks = c.C
	}
	for {
		select {
		case <-ctx.Done():
			m.event(results.EventInterrupted, "interrupted at step %d (%d offered)", index, offered)
			return m.cut(sr), &stopCause{stop: results.StopInterrupted}
		case e := <-m.running.Exited():
			m.sample(index, offered)
			m.recordExit(e)
			st := m.cut(sr)
			if trip := m.guardTripped(); trip != "" {
				return st, &stopCause{stop: results.StopGuard, detail: trip + "; " + e.String()}
			}
			return st, &stopCause{stop: results.StopExited, detail: e.String()}
		case err := <-m.sw.Died():
			m.sample(index, offered)
			return m.agentDied(sr, err)
		case <-tick.C:
		case <-checks:
			if !m.swarmThere(sr) {
				continue
			}
			// Sampled now, the next sample a second from now.
			tick.Reset(time.Second)
		}
		h := m.sample(index, offered)
		if err := m.tl.Err(); err != nil {
			// Nothing measured from here on could be kept: stop driving
			// load now rather than measure into the void.
			return m.cut(sr), &stopCause{stop: results.StopResults, detail: err.Error(), err: err}
		}
		if trip := m.guardTripped(); trip != "" {
			return m.cut(sr), &stopCause{stop: results.StopGuard, detail: trip}
		}
		now, sw := m.last.Time, m.last.Swarm
		// A swarm this far behind for this long cannot be trusted in any
		// window that follows: end the step now, as the swarm's, rather
		// than hold a window only to throw it away (at a message a minute
		// that is a minute per model of a run that is over).
		if sr.phase != judging && time.Duration(sw.LagMaxMs*float64(time.Millisecond)) > behindLag*m.opt.Deadline {
			if sr.behind++; sr.behind >= behindFor {
				st := m.cut(sr)
				return st, &stopCause{stop: results.StopSwarm, detail: fmt.Sprintf("the swarm was over %d times the deadline behind its send schedule for %d s in the ramp (%v at the last second): no window was held",
					behindLag, sr.behind, time.Duration(sw.LagMaxMs*float64(time.Millisecond)).Round(time.Millisecond))}
			}
		} else {
			sr.behind = 0
		}
		switch sr.phase {
		case ramping:
			sr.rampHist.Merge(h)
			elapsed := now.Sub(sr.start)
			if sw.Open > lastOpen {
				lastGrowth, lastOpen = now, sw.Open
			}
			// Stalled: nothing connecting, and either no ramp paused
			// (the swarm opened all it could) or nothing opened for 2 s.
			stalled := sw.Connecting == 0 && (sw.RampPauses == sr.before.Swarm.RampPauses || now.Sub(lastGrowth) >= 2*time.Second)
			if sw.Open < offered && !(elapsed >= minRamp && stalled) && elapsed < maxRamp {
				continue
			}
			sr.rampEnd, sr.phase = now, settling
			if paused := sw.RampPauses - sr.before.Swarm.RampPauses; paused > 0 && sw.Connecting == 0 && float64(sw.Unattempted) > (1-m.opt.SustainRatio)*float64(offered) {
				// The agents held back and never tried enough of the
				// offer: whatever the window found, the step would be the
				// swarm's.
				st := m.cut(sr)
				return st, &stopCause{stop: results.StopSwarm, detail: fmt.Sprintf("the swarm never tried %d of %d connections, holding its ramps back %d ticks behind its own sends: no window was held", sw.Unattempted, offered, paused)}
			}
			fallthrough
		case settling:
			if sr.phase == settling && sr.rampEnd != now {
				sr.rampHist.Merge(h)
			}
			// Served means every connection that has had a message to
			// echo has echoed it on time; a fresh one has had none due yet.
			sr.settled = settled(sw.SwarmCounters)
			if served := sw.Sustained + sw.Fresh; served > sr.served || sr.servedAt.IsZero() {
				sr.served, sr.servedAt = served, now
			}
			// A model that serves no more connections over two intervals
			// is not catching up: waiting out the rest of the settle would
			// only cost the run time (an overloaded step took 20-25 s), and
			// the window judges it as it is. One still gaining (a process
			// per connection, accepting slowly) gets the whole settle.
			stalled := now.Sub(sr.servedAt) >= 2*m.opt.Interval
			if !sr.settled && !stalled && now.Sub(sr.rampEnd) < m.settleMax() {
				continue
			}
			sr.settleEnd = now
			// The per-process marks first, then the sample that opens
			// the window: at 20,000 processes the marks cost the runner
			// 0.11 CPU-seconds (forked, 0.008 for a second's sample), which
			// taken after the window's first sample fell in the window
			// (0.06 CPU of the runner's over a 2 s window). Taken before
			// it, they span a little more than the window, which others
			// and the run delay scale away (toWindow).
			if c, err := m.snapshotCPU(m.ours()); err == nil {
				sr.procsAtWindow = &c
			}
			if w, err := m.tree.MarkDelay(); err == nil {
				sr.waitAtWindow = &w
			}
			opened, err := m.sw.StartWindow(index+1, 3*time.Second)
			if err != nil {
				return m.cut(sr), &stopCause{stop: results.StopSwarm, detail: err.Error(), err: err}
			}
			sr.opened = opened
			sr.rampHist.Merge(m.sample(index, offered))
			sr.phase = judging
			// The window's seconds count from here: the next ticks then
			// fall a whole hold after its start. Left on the step's
			// rhythm, a tick came a few milliseconds short of the hold
			// (the samples' own reads shift them) in about half the
			// steps of run 20261203-135643, which then held 3 s, not 2.
			tick.Reset(time.Second)
			m.stepLagMs = max(m.stepLagMs, opened.LagMaxMs)
			s := m.last
			sr.window = &s
		case judging:
			sr.windowHist.Merge(h)
			if now.Sub(sr.window.Time) < m.opt.Hold {
				continue
			}
			ev, err := m.sw.Evaluate(index+1, 3*time.Second)
			if err != nil {
				return m.cut(sr), &stopCause{stop: results.StopSwarm, detail: err.Error(), err: err}
			}
			st := m.stepRecord(sr, false, &ev)
			analysis.Judge(st, m.runRec.Config)
			if !st.OK {
				if st.Untrusted != "" {
					return st, &stopCause{stop: results.StopSwarm, detail: st.Untrusted}
				}
				return st, &stopCause{stop: results.StopNotSustained, detail: st.Why}
			}
			return st, nil
		}
	}
}

// agentDied ends a step whose swarm lost an agent: cut, untrusted, and the
// run of this model over, since the swarm can no longer offer the load.
func (m *measurement) agentDied(sr *stepRun, err error) (*results.Step, *stopCause) {
	m.event(results.EventAgentDied, "%v", err)
	st := m.cut(sr)
	st.Untrusted, st.UntrustedBy = "a swarm agent died: "+err.Error(), results.MechAgentDied
	analysis.Judge(st, m.runRec.Config)
	return st, &stopCause{stop: results.StopSwarm, detail: err.Error(), err: err}
}

// others names the processes outside the model and the agents that used
// 5% of a CPU or more since the window began: what else took the CPUs.
func (m *measurement) others(start probe.CPUByProcess, window time.Duration) []results.ProcCPU {
	ours := m.ours()
	end, err := m.snapshotCPU(ours)
	if err != nil {
		return nil
	}
	// The scans bound the window, but the one at its end is taken when
	// the step is recorded, which under a collapse came seconds late
	// (kdamond.0 read 5.88 CPU-seconds in forked's 2.1 s window at
	// 28,000, run 20261203-170559): each process's CPU is scaled from the
	// scans' whole span to the window's, a lower bound of what it took in
	// the window, as an excuse for the model must be.
	scale := toWindow(end.At.Sub(start.Start), window)
	out := probe.Busiest(start, end, func(pid int) bool { return ours[pid] }, 0.05*window.Seconds()/scale, 3)
	for i := range out {
		out[i].CPU *= scale
		if out[i].PID == os.Getpid() {
			out[i].Comm += results.RunnerMark
		}
	}
	return out
}

// toWindow is the share of a reading's span that the window it stands
// for takes: a figure read over a longer span (a scan or a read that came
// late) times it is the window's, at its lower bound; 1 when the span is
// within the window.
func toWindow(span, window time.Duration) float64 {
	if span <= window || window <= 0 {
		return 1
	}
	return window.Seconds() / span.Seconds()
}

// delta is after−before of a cumulative figure, 0 when either sample
// lacks it (a failed read), so that a missing start never counts from boot.
func delta(before, after float64) float64 {
	if before <= 0 || after <= before {
		return 0
	}
	return after - before
}

// cut records a step that ended before its window did: the model exited,
// the guard stopped it, an agent died or the run was interrupted. It is
// kept for what it measured and never sets a capacity.
func (m *measurement) cut(sr *stepRun) *results.Step {
	var ev *swarm.Evaluation
	if sr.phase == judging && m.sw != nil {
		// The agents can still say what the window held until now.
		if e, err := m.sw.Evaluate(sr.index+1, time.Second); err == nil {
			ev = &e
		}
	}
	st := m.stepRecord(sr, true, ev)
	analysis.Judge(st, m.runRec.Config)
	return st
}

// stepRecord turns the samples of a step into its Step record. Failures
// count over the whole step; latency, CPU and echoes over the window, so
// the cost per echo is the steady state's, without the accepts of the
// ramp; the ramp's and the settle's latency is kept apart.
//
// ev, when the window was evaluated, is the agents' answer at its end: its
// counts replace the last per-second status's, which lag by up to a second.
func (m *measurement) stepRecord(sr *stepRun, cut bool, ev *swarm.Evaluation) *results.Step {
	end := m.last
	steady := sr.before
	if sr.window != nil {
		steady = *sr.window
	} else {
		// No window: the ramp's echoes are all there is.
		sr.rampHist, sr.windowHist = swarm.NewHist(), sr.rampHist
	}
	// The swarm's counts over the whole step, and over the window.
	overStep := end.Swarm.Sub(sr.before.Swarm.SwarmCounters)
	overWindow := end.Swarm.Sub(steady.Swarm.SwarmCounters)
	st := &results.Step{
		Index: sr.index, Offered: sr.offered, Start: sr.start, End: end.Time,
		Open: overStep.Open, Cut: cut,
		StepFailures: results.StepFailures{Failures: overStep.Failures, ClientFailures: overStep.ClientFailures},
		StepTiming: results.StepTiming{
			Latency:     swarm.Percentiles(sr.windowHist),
			RampLatency: swarm.Percentiles(sr.rampHist),
			Settled:     sr.settled,
		},
		StepCost: results.StepCost{
			Echoes:     overWindow.Echoed,
			Unstamped:  overWindow.Unstamped,
			Model:      results.ProcDelta(m.modelDetail(end.Model)),
			AgentsCPU:  end.Agents.CPU() - steady.Agents.CPU(),
			MachineCPU: delta(steady.System.CPUBusy, end.System.CPUBusy),
			MemStall:   delta(steady.System.MemStall, end.System.MemStall),
		},
		Counters:  results.CounterDeltas(sr.before.System.Counters, end.System.Counters),
		StepTrust: results.StepTrust{LagMaxMs: m.stepLagMs, RampPauses: overStep.RampPauses, Unattempted: overStep.Unattempted},
	}
	if !sr.rampEnd.IsZero() {
		st.RampSeconds = sr.rampEnd.Sub(sr.start).Seconds()
	}
	if h := end.Swarm.Hostile; h != nil && h.Offered > 0 {
		st.Hostile = &results.Hostile{Kind: h.Kind, Offered: h.Offered, Open: h.Open, Cycles: h.Cycles}
		var before map[string]int64
		if b := sr.before.Swarm.Hostile; b != nil {
			st.Hostile.Cycles -= b.Cycles
			before = b.Failures
		}
		st.Hostile.Failures = results.CounterDeltas(before, h.Failures)
	}
	if !sr.settleEnd.IsZero() {
		st.SettleSeconds = sr.settleEnd.Sub(sr.rampEnd).Seconds()
	}
	if sr.window != nil {
		st.WindowStart = sr.window.Time
	}
	m.mu.Lock()
	st.ServerReports = results.CounterDeltas(m.reportsAtStepStart, m.reportCounts)
	m.mu.Unlock()
	for _, c := range m.runRec.Config.ModelCPUs {
		if c < len(steady.System.PerCPU) && c < len(end.System.PerCPU) {
			b, e := steady.System.PerCPU[c], end.System.PerCPU[c]
			st.ModelCPUBusy += delta(b.Busy, e.Busy)
			st.ModelCPUSoftirq += delta(b.Softirq, e.Softirq)
		}
	}
	if sr.procsAtWindow != nil {
		st.Others = m.others(*sr.procsAtWindow, end.Time.Sub(sr.window.Time))
	}
	if sr.window != nil {
		st.ModelWait = -1
		// Threads that ended in the window take their delay with them;
		// the sum can only understate the wait.
		if sr.waitAtWindow != nil {
			if w, unread, err := m.tree.DelaySince(*sr.waitAtWindow); err == nil {
				// Read at the step's record, which may come seconds
				// after the window: scaled to the window, as others'.
				w *= toWindow(time.Since(sr.waitAtWindow.Start), end.Time.Sub(sr.window.Time))
				st.ModelWait, st.ModelWaitUnread = w, unread
			}
		}
	}
	// The per-process figures as read now; the CPU over the window.
	overHold := end.Model.Since(steady.Model)
	st.Model.CPUUser, st.Model.CPUSys = overHold.CPUUser, overHold.CPUSys
	st.HoldSeconds = end.Time.Sub(steady.Time).Seconds()
	st.UserMem = st.Model.UserMemory() - m.baseMem
	st.KernelMem = (end.System.TCPMem + end.System.SUnreclaim) - (m.baseSys.TCPMem + m.baseSys.SUnreclaim)
	// The runner's CPU over the window alone: every sample reads it, so
	// the two that bound the window give it exactly; the per-process
	// reads at its ends run before and after it. Read at the step's
	// record instead, it took in the reads at the window's end, which
	// run after it: 0.23 CPU-seconds in forked's 2.06 s window at 10,000
	// (0.11 CPU), where the model's own figures are the window's.
	st.RunnerCPU = delta(steady.RunnerCPU, end.RunnerCPU)
	st.Sustained = overStep.Sustained // on time at the end: all a step without a window can say
	if ev != nil {
		m.stepLagMs = max(m.stepLagMs, ev.LagMaxMs)
		st.LagMaxMs = m.stepLagMs
		st.Sustained, st.Window = ev.Sustained, true
		st.Echoes = ev.Counters.Sub(sr.opened.Counters).Echoed
		atEval := ev.Counters.Sub(sr.before.Swarm.SwarmCounters)
		st.Open, st.Failures, st.ClientFailures = atEval.Open, atEval.Failures, atEval.ClientFailures
	}
	return st
}
