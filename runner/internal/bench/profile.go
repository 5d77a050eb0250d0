package bench

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"c10klab/runner/internal/swarm"
)

// A Profile is a named set of settings for one kind of question, applied
// over Defaults before the command line's own flags.
type Profile struct {
	Name  string
	About string
	// Models run when --models is not given; empty: every model.
	Models []string
	Apply  func(*Options)
}

// Profiles are the named settings `bench --profile` knows.
func Profiles() []Profile {
	return []Profile{
		{Name: "default", About: "the settings of make bench: every model, its capacity searched from 1,000 connections up at a message a second, 38 s a model, shared (what a model leaves goes to the ones after it)",
			Apply: func(*Options) {}},
		scaleProfile(),
	}
}

// FindProfile returns the profile called name.
func FindProfile(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("no profile %q (have %s)", name, strings.Join(names, ", "))
}

// scaleProfile asks how many connections a model holds, not how many
// messages it echoes: one message per connection per minute, so that even
// 2,000,000 connections make only 33,333 echoes a second, and the cost
// measured is the cost of holding a connection. docs/scale-out.md has the
// arithmetic and the runs behind these numbers.
//
//   - Interval 60s, Deadline 1s: each connection echoes once a minute and
//     must do so within a second, as in make bench.
//   - Hold 61s = Interval + Deadline: every connection has at least one
//     echo due inside the evaluation window, so none is counted sustained
//     without having echoed.
//   - Rate 5,000/s, the agents on CPUs of their own (SwarmApart): on
//     loopback a connect costs both ends' handshake, 70 µs of the agents'
//     CPU and a quarter as much again in softirqs, and at 1,000,000 held
//     the echoes take 0.38-0.45 of the agents' CPU (23-27 µs each). At
//     15,000/s the agents' CPU was full from 50,000 connections on, their
//     lag swung between 0.3 and 2.6 s however they paced, and the step was
//     lost as untrusted (epoll at 656,000, 2026-12-03 18:57). At 5,000/s
//     they used 0.3-0.5 CPU, lags mostly 4-30 ms (0.7 and 1.5 s at worst,
//     near the end), and gnet and epoll held 1,000,000 (runs
//     20261203-190018 and -191507: ramps of 212 and 226 s, p99 627 and 831
//     ms). Sharing the model's CPU starved it at 20,000/s and 30,000/s
//     (collapsed at 476,261 and 860,906 open). The agents still hold their
//     ramps back while they are late on their sends (swarm.pauseLagDiv).
//     docs/scale-out.md has the runs.
//   - RampDoubling 1s: the ramp starts at 1,000 and doubles each second
//     up to the rate (6 s more than a flat ramp), so the once-a-second
//     samples chart the cost from 1,000 up (cost.png).
//   - SettleMax 5s: at a message a minute a connection that missed one
//     echo in the ramp would hold the settle a minute; the window judges
//     it anyway.
//   - Steps 1,000,000 and 2,000,000; a step at 500,000 for a model that
//     cannot hold a million (goroutine) would cost 66 s a model, past the
//     15 minutes: --steps 500000,1000000,2000000 adds it. No conformance
//     check: make bench runs it, and the swarm still checks every echoed
//     byte.
func scaleProfile() Profile {
	return Profile{
		Name:   "scale",
		About:  "concurrency, not message rate: epoll, gnet and goroutine to 1,000,000 connections and on toward 2,000,000, a message per connection per minute",
		Models: []string{"epoll", "gnet", "goroutine"},
		Apply: func(o *Options) {
			o.Steps = []int{1_000_000, 2_000_000}
			o.Rate = 5_000
			o.RampDoubling = time.Second
			o.SettleMax = 5 * time.Second
			o.SwarmApart = true
			o.Interval = time.Minute
			o.Deadline = time.Second
			o.Hold = o.Interval + o.Deadline
			o.Conformance = false
			// Steps of a minute and more: the planned steps only.
			o.Search = false
		},
	}
}

// Estimate is the time the settings commit a model that keeps up to:
// every planned step's ramp at the set rate, its settle and its hold
// (StepTimes). A model's start and stop come on top.
func Estimate(o Options) time.Duration {
	var d time.Duration
	for _, st := range StepTimes(o) {
		d += st.Total()
	}
	return d
}

// stepTime is what one step from open to offered connections commits a
// model that keeps up to: its ramp, its settle and its hold. A step below
// the connections open has no ramp: the swarm closes its surplus at once
// (a probe on a fresh model starts from none open).
func stepTime(o Options, open, offered int) time.Duration {
	return stepTimeOf(o, open, offered).Total()
}

// stepTimeOf is stepTime part by part.
func stepTimeOf(o Options, open, offered int) StepTime {
	ramp := swarm.SwarmRamp(o.Rate, o.RampDoubling)
	return StepTime{Ramp: ramp.Time(open, offered-open), Settle: o.Deadline + 2*time.Second, Hold: o.Hold}
}

// Bound is the most a model's measurement takes with these settings when
// it keeps up: its budget (the search starts no step it foresees past it;
// a model slow to settle may overrun its last step's estimate by the
// settle's bound), plus its teardown (startStop). Without a search or a
// budget: Estimate's plan, and its start and teardown. With ShareBudget a
// model's budget is its share of what the run has left, which may be
// more than Budget: RunBound bounds the run.
func Bound(o Options) time.Duration {
	if !o.searching() || o.Budget <= 0 {
		return Estimate(o) + startStop
	}
	return o.Budget + o.settleOverrun() + startStop
}

// RunBound is the most a run of measurements (models × --repeat) takes
// with these settings when its models keep up. With ShareBudget, the
// run's budget (Budget for each) counts every second from the first
// model's start, teardowns included, so only the last model's overrun
// and teardown come on top; a model's budget falls to its floor
// (budgetFloor) only when the ones before it overran by more than a
// quarter of a share each, and the run then takes longer by as much.
// Otherwise each measurement's Bound.
func RunBound(o Options, measurements int) time.Duration {
	if !o.searching() || o.Budget <= 0 || !o.ShareBudget {
		return time.Duration(measurements) * Bound(o)
	}
	return time.Duration(measurements)*o.Budget + o.settleOverrun() + startStop
}

// SharedBudget is each measurement's share of the run's budget when its
// models share one (the run's time left is then what is left of it), or
// 0.
func SharedBudget(o Options) time.Duration {
	if !o.searching() || !o.ShareBudget {
		return 0
	}
	return o.Budget
}

// startStop is a model's teardown after its budget: its swarm's and its
// own stop (0.2-4.5 s in run 20261203-172047).
const startStop = 4 * time.Second

// settleOverrun is how far a step's settle may run past the settle the
// budget's estimate allows.
func (o Options) settleOverrun() time.Duration {
	settleMax := cmp.Or(o.SettleMax, connectTimeout+2*o.Interval)
	return max(0, settleMax-(o.Deadline+2*time.Second))
}

// StepTime is what one planned step commits a model that keeps up to.
type StepTime struct {
	Ramp   time.Duration // opening the step's new connections at the set rate
	Settle time.Duration
	Hold   time.Duration
}

// Total is the whole step.
func (s StepTime) Total() time.Duration { return s.Ramp + s.Settle + s.Hold }

// StepTimes is Estimate step by step, over the run's plan (--steps, then a
// step per --hostile kind, whose ramp opens only its hostile connections).
// The settle ends once every connection that has sent a message has had it
// back, so for a model that keeps up it is the last messages' deadline
// plus the agents' status second and the runner's sampling second; a
// model that falls behind settles for up to SettleMax instead.
func StepTimes(o Options) []StepTime {
	var out []StepTime
	prev := 0
	for _, p := range o.plan() {
		out = append(out, stepTimeOf(o, prev, p.offered+p.hostile))
		prev = p.offered
	}
	return out
}

// EveryConnectionEchoes reports whether a step's hold has at least one
// echo of every connection fall due inside it, whatever the connection's
// phase: the hold must cover a whole interval plus the deadline.
func EveryConnectionEchoes(o Options) bool { return o.Hold >= o.Interval+o.Deadline }
