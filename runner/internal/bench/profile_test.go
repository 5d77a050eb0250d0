package bench

import (
	"slices"
	"testing"
	"time"

	"c10klab/runner/internal/model"
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
// models' ramps and holds inside the 15 minutes the profile may take.
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
	if last := o.Steps[len(o.Steps)-1]; last < 2_000_000 || !slices.Contains(o.Steps, 1_000_000) || o.Steps[0] > 1000 {
		t.Errorf("steps %v: want 1,000 first, 1,000,000 and on to 2,000,000", o.Steps)
	}
	total := Estimate(o) * time.Duration(len(p.Models))
	if total >= 15*time.Minute {
		t.Errorf("%d models x %v = %v of ramps and holds: not under 15 minutes", len(p.Models), Estimate(o), total)
	}
	rate := float64(o.Steps[len(o.Steps)-1]) / o.Interval.Seconds()
	t.Logf("scale: %v per model, %v for %d models (%v left for starts, settles, stops), %.0f echoes/s at %d connections",
		Estimate(o), total, len(p.Models), 15*time.Minute-total, rate, o.Steps[len(o.Steps)-1])
}

func TestEstimate(t *testing.T) {
	o := Options{Steps: []int{1000, 11000}, Rate: 1000, Hold: 5 * time.Second}
	if got, want := Estimate(o), 21*time.Second; got != want {
		t.Errorf("Estimate = %v, want %v (1s+5s ramp/hold, 10s+5s)", got, want)
	}
}
