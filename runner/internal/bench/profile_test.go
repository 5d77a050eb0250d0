package bench

import (
	"slices"
	"testing"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

func TestProfiles(t *testing.T) {
	for _, p := range Profiles() {
		o := Defaults()
		p.Apply(&o)
		o.Specs = nil
		for _, m := range p.Models {
			o.Specs = append(o.Specs, model.Spec{Name: m})
		}
		if len(o.Specs) == 0 {
			o.Specs = append(o.Specs, model.Spec{Name: "epoll"})
		}
		if err := o.Validate(); err != nil {
			t.Errorf("profile %s: %v", p.Name, err)
		}
		if !EveryConnectionEchoes(o) && p.Name == "scale" {
			t.Errorf("profile %s: hold %v leaves connections without an echo due (interval %v, deadline %v)", p.Name, o.Hold, o.Interval, o.Deadline)
		}
	}
	if _, err := FindProfile("nope"); err == nil {
		t.Error("FindProfile accepted an unknown name")
	}
}

// TestScaleProfileArithmetic is the dry check of the scale profile: a
// message per connection per minute, 1,000,000 and then toward 2,000,000
// connections, every connection echoing in every hold, and the three
// models taken to 1,000,000 inside 15 minutes with a minute to spare for
// starting and stopping them. The step to 2,000,000 comes on top for a
// model (and a swarm) that keeps up; on the 2-CPU machine the swarm does
// not, and the step ends in its ramp (docs/scale-out.md).
func TestScaleProfileArithmetic(t *testing.T) {
	p, err := FindProfile("scale")
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	p.Apply(&o)
	if o.Interval != time.Minute {
		t.Errorf("interval %v, want a message per connection per minute", o.Interval)
	}
	if last := o.Steps[len(o.Steps)-1]; last < 2_000_000 || !slices.Contains(o.Steps, 1_000_000) {
		t.Errorf("steps %v: want 1,000,000 and on to 2,000,000", o.Steps)
	}
	to1M := o
	to1M.Steps = nil
	for _, s := range o.Steps {
		if s <= 1_000_000 {
			to1M.Steps = append(to1M.Steps, s)
		}
	}
	total := Estimate(to1M) * time.Duration(len(p.Models))
	if total > 14*time.Minute {
		t.Errorf("%d models x %v = %v to reach 1,000,000: over 14 minutes", len(p.Models), Estimate(to1M), total)
	}
	rate := float64(o.Steps[len(o.Steps)-1]) / o.Interval.Seconds()
	t.Logf("scale: %v per model to 1M, %v for %d models; %v per model with the 2M step held; %.0f echoes/s at %d connections",
		Estimate(to1M), total, len(p.Models), Estimate(o), rate, o.Steps[len(o.Steps)-1])
}

func TestEstimate(t *testing.T) {
	o := Options{
		StepPlan: results.StepPlan{Steps: []int{1000, 11000}, Rate: 1000, Hold: 5 * time.Second},
		Messages: results.Messages{Interval: 10 * time.Second, Deadline: time.Second},
		Judging:  results.Judging{SustainRatio: 0.5},
	}
	// settle: the 1s deadline + 2s = 3s; ramps 1s and 10s; holds 5s each.
	if got, want := Estimate(o), 27*time.Second; got != want {
		t.Errorf("Estimate = %v, want %v", got, want)
	}
	// The 1M run (500,000 and 1,000,000 at 20,000/s, interval 60s,
	// hold 65s) measured 4m49s with the model's start and stop: the bound
	// must not be below what was measured less those.
	run := Options{
		StepPlan: results.StepPlan{Steps: []int{500_000, 1_000_000}, Rate: 20_000, Hold: 65 * time.Second},
		Messages: results.Messages{Interval: time.Minute, Deadline: time.Minute},
		Judging:  results.Judging{SustainRatio: 0.95},
	}
	if got := Estimate(run); got < 4*time.Minute+39*time.Second || got > 5*time.Minute+30*time.Second {
		t.Errorf("Estimate of the issue's 1M run = %v, measured 4m49s in all", got)
	}
}
