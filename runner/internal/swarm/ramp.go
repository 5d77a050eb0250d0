package swarm

import (
	"math"
	"time"
)

// A Ramp is how fast connections open during a step: at most Rate a
// second and, with Doubling set, no faster than doubling the count held
// every Doubling, from at least From. The doubling start is for the cost
// charts: the runner samples once a second, and a ramp straight at 20,000
// a second would pass 1,000 to 20,000 between two samples; doubling, the
// samples fall at evenly spaced points of a log scale up to the rate.
type Ramp struct {
	Rate     int           // connections a second at most
	Doubling time.Duration // 0: open at Rate from the start
	From     int           // the count the doubling starts from, at least
}

// RampFrom is where a doubling ramp starts, over the whole swarm: the cost
// charts begin at 1,000 connections.
const RampFrom = 1000

// SwarmRamp is the ramp of a whole swarm opening at rate with doubling.
func SwarmRamp(rate int, doubling time.Duration) Ramp {
	return Ramp{Rate: rate, Doubling: doubling, From: RampFrom}
}

// doubling is the shape of a doubling ramp begun holding held: its
// e-folding time tau, the count n0 the doubling starts from, and t1, when
// its rate reaches Rate (0: at once). While doubling, the count opened is
// n0·(e^(t/τ) − 1) and the rate n0·e^(t/τ)/τ; from t1 on, the rate is
// capped at Rate.
func (r Ramp) doubling(held int) (tau, n0, t1 float64) {
	tau = r.Doubling.Seconds() / math.Ln2
	n0 = float64(max(held, r.From, 1))
	if rate := float64(r.Rate); rate*tau > n0 {
		t1 = tau * math.Log(rate*tau/n0)
	}
	return tau, n0, t1
}

// Allowed is how many connections the ramp allows opened in the first d
// of a ramp begun holding held.
func (r Ramp) Allowed(held int, d time.Duration) int {
	t := d.Seconds()
	rate := float64(r.Rate)
	if r.Doubling <= 0 || t <= 0 {
		return int(rate * max(t, 0))
	}
	tau, n0, t1 := r.doubling(held)
	if t < t1 {
		return int(n0 * math.Expm1(t/tau))
	}
	return int(n0*math.Expm1(t1/tau) + rate*(t-t1))
}

// Time is how long the ramp takes to open n connections begun holding
// held: the inverse of Allowed.
func (r Ramp) Time(held, n int) time.Duration {
	if n <= 0 || r.Rate <= 0 {
		return 0
	}
	rate, want := float64(r.Rate), float64(n)
	if r.Doubling <= 0 {
		return time.Duration(want / rate * float64(time.Second))
	}
	tau, n0, t1 := r.doubling(held)
	if doubled := n0 * math.Expm1(t1/tau); want > doubled {
		return time.Duration((t1 + (want-doubled)/rate) * float64(time.Second))
	}
	return time.Duration(tau * math.Log1p(want/n0) * float64(time.Second))
}
