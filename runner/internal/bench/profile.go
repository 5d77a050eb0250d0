package bench

import (
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
		{Name: "default", About: "the settings of make bench: every model, 1,000 to 40,000 connections at a message a second",
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
// arithmetic.
//
//   - Interval 60s, Deadline 1s: each connection echoes once a minute and
//     must do so within a second, as in make bench.
//   - Hold 61s = Interval + Deadline: every connection has at least one
//     echo due inside the evaluation window, so none is counted sustained
//     without having echoed.
//   - Rate 50,000/s: the ramp is as fast as the swarm asks; the model's
//     accept rate then limits it, and the settle after the ramp measures by
//     how much.
//   - Steps 1,000,000 and 2,000,000: a step costs its ramp, a settle of up
//     to a whole interval (the hold starts once 95% of the connections
//     have echoed, and each echoes once a minute: 59s measured at 1,000)
//     and its hold, 140s; two steps are 280s a model, 14 minutes for the
//     three (Estimate). A step at 1,000 would cost two more minutes a
//     model; the cost from 1,000 up comes from the per-second samples of
//     the ramps instead.
//   - No conformance check: make bench runs it, and the swarm still checks
//     every echoed byte; it would cost 3 x 5 s of the budget.
func scaleProfile() Profile {
	return Profile{
		Name:   "scale",
		About:  "concurrency, not message rate: epoll, gnet and goroutine to 1,000,000 connections and on toward 2,000,000, a message per connection per minute",
		Models: []string{"epoll", "gnet", "goroutine"},
		Apply: func(o *Options) {
			o.Steps = []int{1_000_000, 2_000_000}
			o.Rate = 30_000
			o.RampDoubling = time.Second
			o.SettleMax = 10 * time.Second
			o.Interval = time.Minute
			o.Deadline = time.Second
			o.Hold = o.Interval + o.Deadline
			o.Conformance = false
		},
	}
}

// Estimate is the time the settings commit a model that keeps up to:
// every step's ramp at the set rate, its settle and its hold. The settle
// ends once every connection that has sent a message has had it back, so
// for such a model it is the last messages' deadline plus the agents'
// status second and the runner's sampling second; a model that falls
// behind settles for up to SettleMax instead. A model's start and stop
// come on top.
func Estimate(o Options) time.Duration {
	settle := o.Deadline + 2*time.Second
	var d time.Duration
	prev := 0
	ramp := swarm.SwarmRamp(o.Rate, o.RampDoubling)
	for _, s := range o.Steps {
		d += ramp.Time(prev, s-prev)
		d += settle + o.Hold
		prev = s
	}
	return d
}

// EveryConnectionEchoes reports whether a step's hold has at least one
// echo of every connection fall due inside it, whatever the connection's
// phase: the hold must cover a whole interval plus the deadline.
func EveryConnectionEchoes(o Options) bool { return o.Hold >= o.Interval+o.Deadline }
