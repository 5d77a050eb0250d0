package swarm

import (
	"testing"
	"time"
)

func TestRampDoublesThenHoldsItsRate(t *testing.T) {
	linear := Ramp{Rate: 20000}
	doubling := Ramp{Rate: 20000, Doubling: time.Second, From: 1000}
	for _, c := range []struct {
		name string
		r    Ramp
		held int
		d    time.Duration
		want int
	}{
		{"linear", linear, 0, time.Second, 20000},
		{"linear, later step", linear, 500000, 3 * time.Second, 60000},
		{"doubling: 1,000 more after a second", doubling, 0, time.Second, 1000},
		{"doubling: 3,000 more after two", doubling, 0, 2 * time.Second, 3000},
		// The cap: at 28,854 held (20,000 x 1/ln 2) the doubling rate
		// reaches 20,000 a second, after log2(28.854) = 4.85 s; then linear.
		{"doubling: capped", doubling, 0, 4850*time.Millisecond + 10*time.Second, 27854 + 200000},
		// A later step already holds enough to start at the cap.
		{"doubling from 1,000,000: at the rate at once", doubling, 1000000, 2 * time.Second, 40000},
		{"nothing before it begins", doubling, 0, 0, 0},
	} {
		got := c.r.Allowed(c.held, c.d)
		if diff := got - c.want; diff < -30 || diff > 30 {
			t.Errorf("%s: Allowed(%d, %v) = %d, want %d", c.name, c.held, c.d, got, c.want)
		}
		if c.want > 0 {
			if back := c.r.Time(c.held, c.want); (back - c.d).Abs() > 5*time.Millisecond {
				t.Errorf("%s: Time(%d, %d) = %v, want %v", c.name, c.held, c.want, back, c.d)
			}
		}
	}
}
