package live

import (
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	ramp := State{
		Label: "epoll", Phase: PhaseRamp, PhaseFor: 12 * time.Second,
		Offered: 300_000, Open: 123_456, Sustained: 119_000, Rate: 9_870, HasRate: true,
		LagMs: 12, Echoes: 2000, P99Ms: 1.25, Failures: 3,
		Model: 5, Models: 17, Step: 3, Steps: 5, Left: 6*time.Minute + 10*time.Second,
	}
	noEcho := ramp
	noEcho.Phase, noEcho.Echoes, noEcho.P99Ms, noEcho.HasRate = PhaseWindow, 0, 0, false
	noEcho.PhaseFor = 0
	past := ramp
	past.Step, past.Left, past.Rate, past.ClientFailures = 6, 40*time.Second, -250, 2
	starting := State{Label: "py-gevent", Phase: PhaseStarting, PhaseFor: 3 * time.Second,
		Model: 2, Models: 3, Step: 1, Steps: 5, Left: 95 * time.Minute}
	for _, c := range []struct {
		name  string
		s     State
		width int
		want  string
	}{
		{"ramp, wide", ramp, 0,
			"[epoll] ramp 12s · offered 300k · open 123k · sustained 119k · +9.87k conn/s · lag 12 ms · p99 1.25 ms · failures 3 · model 5 of 17, step 3 of 5, about 6 min left"},
		{"no echo: no p99 figure, no rate yet", noEcho, 0,
			"[epoll] window · offered 300k · open 123k · sustained 119k · lag 12 ms · p99 — · failures 3 · model 5 of 17, step 3 of 5, about 6 min left"},
		{"a step past the plan has no total; closing connections", past, 0,
			"[epoll] ramp 12s · offered 300k · open 123k · sustained 119k · -250 conn/s · lag 12 ms · p99 1.25 ms · failures 5 (2 client-side) · model 5 of 17, step 6, about 40 s left"},
		{"120 columns: p99, lag and rate go first", ramp, 120,
			"[epoll] ramp 12s · offered 300k · open 123k · sustained 119k · failures 3 · model 5 of 17, step 3 of 5, about 6 min left"},
		{"103 columns: the failures and the phase's time go", ramp, 103,
			"[epoll] ramp · offered 300k · open 123k · sustained 119k · model 5 of 17, step 3 of 5, about 6 min left"},
		{"79 columns: counts and position written short", ramp, 79,
			"[epoll] ramp · open 123k/300k · sustained 119k · model 5/17 step 3/5 ~6 min"},
		{"narrower still: cut short", ramp, 40,
			"[epoll] ramp · open 123k/300k · sustain…"},
		{"starting: no counts, no step", starting, 0,
			"[py-gevent] starting 3s · model 2 of 3, about 1 h 35 min left"},
		{"no phase: no line", State{Label: "epoll", Model: 1, Models: 1}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Render(c.s, c.width)
			if got != c.want {
				t.Errorf("Render =\n%q\nwant\n%q", got, c.want)
			}
			if c.width > 0 && len([]rune(got)) > c.width {
				t.Errorf("%d columns, wider than %d", len([]rune(got)), c.width)
			}
		})
	}
}

func TestLeft(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "a few seconds left"},
		{9 * time.Second, "a few seconds left"},
		{44 * time.Second, "about 40 s left"},
		{89 * time.Second, "about 90 s left"},
		{90 * time.Second, "about 2 min left"},
		{6*time.Minute + 29*time.Second, "about 6 min left"},
		{89 * time.Minute, "about 89 min left"},
		{2*time.Hour + 3*time.Minute, "about 2 h 5 min left"},
	} {
		if got := Left(c.d); got != c.want {
			t.Errorf("Left(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestNoFigureBelowResolution: the status line's latencies never read 0
// for something nobody measured, nor 0.00 for something too small to see.
func TestNoFigureBelowResolution(t *testing.T) {
	for _, c := range []struct {
		name string
		got  string
		want string
	}{
		{"no echo came back", P99(0, 0), "—"},
		{"no echo, a stale figure", P99(0, 3.5), "—"},
		{"an echo at the histogram's floor", P99(10, 0.001), "1 µs"},
		{"under the histogram's floor", P99(10, 0.0004), "< 1 µs"},
		{"a p99 of 0 with echoes", P99(10, 0), "< 1 µs"},
		{"sub-millisecond", P99(10, 0.283), "283 µs"},
		{"milliseconds", P99(10, 1.25), "1.25 ms"},
		{"no message due: no lag figure", Lag(0), "—"},
		{"a lag under a microsecond", Lag(0.0004), "0.4 µs"},
		{"a lag", Lag(12), "12 ms"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	idle := State{Label: "epoll", Phase: PhaseRamp, Offered: 1000, Model: 1, Models: 1, Step: 1, Steps: 1, Left: -1}
	if got, want := Render(idle, 0), "[epoll] ramp · offered 1k · open 0 · sustained 0 · lag — · p99 — · failures 0 · model 1 of 1, step 1 of 1"; got != want {
		t.Errorf("Render before the first send =\n%q\nwant\n%q", got, want)
	}
}
