package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// runStream is a run of two models as the progress hears it: for each,
// start, an idle sample, a short step (3 s ramp, 2 s settle, 4 s window),
// a long one (25 s ramp, 1 s settle, 12 s window), a step past the plan
// cut after 2 s of ramp with no echo, then the teardown. Samples come a
// second apart, events and a server report between them.
func runStream(t0 time.Time) (recs []struct {
	label string
	rec   results.Record
}, phaseSamples int) {
	add := func(label string, r results.Record) {
		recs = append(recs, struct {
			label string
			rec   results.Record
		}{label, r})
	}
	for m, label := range []string{"a", "b"} {
		b := t0.Add(time.Duration(m) * time.Minute)
		at := func(sec float64) time.Time { return b.Add(time.Duration(sec * float64(time.Second))) }
		event := func(sec float64, kind string) {
			add(label, results.Record{Type: results.TypeEvent, Event: &results.Event{Time: at(sec), Kind: kind, Msg: "msg " + kind}})
		}
		sec := 0.4
		sample := func(step int, phase string, offered int) {
			add(label, results.Record{Type: results.TypeSample, Sample: &results.Sample{Time: at(sec), Step: step, Offered: offered, Phase: phase,
				Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: offered, Sustained: offered}, Latency: results.Percentiles{Count: 10, P99: 1.5}}}})
			if phase != "" {
				phaseSamples++
			}
			sec++
		}
		step := func(index, offered int, echoes int64) {
			add(label, results.Record{Type: results.TypeStep, Step: &results.Step{
				StepTiming: results.StepTiming{Latency: results.Percentiles{Count: echoes, P99: 1.5}},
				Index:      index,
				Offered:    offered,
				Open:       offered,
				Sustained:  offered,
				OK:         echoes > 0,
				End:        at(sec - 1),
			}})
		}
		event(0, results.EventStarted)
		event(0.2, results.EventReady)
		sample(-1, "", 0)
		for _, p := range []struct {
			offered              int
			ramp, settle, window int
			echoes               int64
		}{{1000, 3, 2, 4, 40}, {5000, 25, 1, 12, 60}, {7000, 2, 0, 0, 0}} {
			index := 0
			if p.offered == 5000 {
				index = 1
			} else if p.offered == 7000 {
				index = 2
			}
			for range p.ramp {
				sample(index, "ramp", p.offered)
				if sec == 2.4 {
					add(label, results.Record{Type: results.TypeReport, Report: &results.ServerReport{Time: at(2.7), Kind: "accept", Errno: "EMFILE", Count: 1}})
				}
			}
			for range p.settle {
				sample(index, "settle", p.offered)
			}
			for range p.window {
				sample(index, "window", p.offered)
			}
			step(index, p.offered, p.echoes)
		}
		event(sec-0.8, results.EventTeardown)
		event(sec-0.6, results.EventStopped)
		event(sec-0.4, results.EventEnded)
	}
	return recs, phaseSamples
}

// screen plays output on a terminal that knows CR + erase-line and
// newline: the lines scrolled up, and what is left on the last line.
func screen(out string) (lines []string, last string) {
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, "\r\x1b[K"):
			last, out = "", out[len("\r\x1b[K"):]
		case out[0] == '\n':
			lines, last, out = append(lines, last), "", out[1:]
		default:
			i := strings.IndexAny(out, "\r\n")
			if i < 0 {
				i = len(out)
			}
			last, out = last+out[:i], out[i:]
		}
	}
	return lines, last
}

func testOptions() bench.Options {
	opt := bench.Defaults()
	opt.Steps = []int{1000, 5000}
	opt.Specs = []model.Spec{{Name: "a"}, {Name: "b"}}
	return opt
}

// feedProgress plays runStream into p and ends the run; it returns how
// many samples had a phase.
func feedProgress(p *progress) int {
	recs, n := runStream(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, r := range recs {
		p.observe(r.label, r.rec)
	}
	p.done()
	return n
}

var statusRE = regexp.MustCompile(`^\[[ab]\] (ramp|settle|window|starting|stopping)\b`)

// TestProgressOnATerminal: the status line is rewritten in place (CR and
// erase-line), once per second of records and on a change of phase, never
// mixed into the whole lines, and gone from the screen at the end.
func TestProgressOnATerminal(t *testing.T) {
	var pipe strings.Builder
	feedProgress(newProgress(&pipe, false, nil, false, testOptions()))
	for _, width := range []int{0, 80} {
		t.Run(fmt.Sprintf("width %d", width), func(t *testing.T) {
			var out strings.Builder
			n := feedProgress(newProgress(&out, true, func() int { return width }, false, testOptions()))
			chunks := strings.Split(out.String(), "\r\x1b[K")
			var redraws []string
			for _, c := range chunks {
				if c != "" && !strings.Contains(c, "\n") {
					redraws = append(redraws, c)
				}
			}
			// Per model: every sample with a phase (a second apart), and
			// the starting and stopping phases, which events begin.
			if want := n + 2*2; len(redraws) != want {
				t.Errorf("%d redraws, want %d (%d samples with a phase, and starting and stopping for 2 models)", len(redraws), want, n)
			}
			for _, r := range redraws {
				if !statusRE.MatchString(r) {
					t.Errorf("redraw %q is not a status line", r)
				}
				if width > 0 && utf8.RuneCountInString(r) > width-1 {
					t.Errorf("status %q: %d columns on a terminal of %d", r, utf8.RuneCountInString(r), width)
				}
			}
			// What stays on the screen is exactly the log's lines less its
			// status lines: nothing interleaved, nothing left over.
			lines, last := screen(out.String())
			if last != "" {
				t.Errorf("after the run the last line still shows %q", last)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimSuffix(pipe.String(), "\n"), "\n") {
				if !statusRE.MatchString(l) {
					want = append(want, l)
				}
			}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if width == 0 {
				past := 0
				for _, r := range redraws {
					if strings.Contains(r, "step 3 of") {
						t.Errorf("a step past the plan shown with a total: %q", r)
					}
					if strings.Contains(r, "step 3, ") {
						past++
					}
				}
				if past != 2*2 {
					t.Errorf("%d redraws of the step past the plan, want 4 (2 samples, 2 models)", past)
				}
			}
		})
	}
}

// TestProgressInALog: no CR or escape codes; a status line only in a
// phase that has lasted 10 s, at most one every 10 s; and the step line
// says "—" for a p99 of no echo.
func TestProgressInALog(t *testing.T) {
	var out strings.Builder
	feedProgress(newProgress(&out, false, nil, false, testOptions()))
	text := out.String()
	if strings.ContainsAny(text, "\r\x1b") {
		t.Errorf("a log got CR or escape codes:\n%q", text)
	}
	var status []string
	for _, l := range strings.Split(text, "\n") {
		if statusRE.MatchString(l) {
			status = append(status, strings.SplitN(l, " · ", 2)[0])
		}
	}
	// The 25 s ramp at 10 s and 20 s; the 12 s window at 10 s; the short
	// phases never.
	want := []string{"[a] ramp 10s", "[a] ramp 20s", "[a] window 10s", "[b] ramp 10s", "[b] ramp 20s", "[b] window 10s"}
	if strings.Join(status, "|") != strings.Join(want, "|") {
		t.Errorf("status lines %q, want %q", status, want)
	}
	if !strings.Contains(text, "[a] step 2: offered   7000  open   7000  sustained   7000  failures 0     p99         —  NOT SUSTAINED") {
		t.Errorf("no step line with p99 — for the step without echoes:\n%s", text)
	}
	if strings.Contains(text, "0.00 ms") {
		t.Errorf("a p99 of 0.00 ms printed:\n%s", text)
	}
	if !strings.Contains(text, "[a] step 0: offered   1000  open   1000  sustained   1000  failures 0     p99    1.5 ms  ok") {
		t.Errorf("step 0's line changed:\n%s", text)
	}
}

// TestProgressQuiet: --quiet prints the step lines only, on a terminal
// too: no events, no reports, no status line.
func TestProgressQuiet(t *testing.T) {
	var out strings.Builder
	feedProgress(newProgress(&out, true, nil, true, testOptions()))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if strings.Contains(out.String(), "\r") || len(lines) != 6 {
		t.Fatalf("quiet output:\n%q\nwant the 6 step lines only", out.String())
	}
	for _, l := range lines {
		if !regexp.MustCompile(`^\[[ab]\] step \d: `).MatchString(l) {
			t.Errorf("quiet printed %q", l)
		}
	}
}

// TestStepP99Resolution: the step line's p99 never reads 0.00 ms, for a
// window without echoes or for one faster than two decimals of a
// millisecond, and keeps its column.
func TestStepP99Resolution(t *testing.T) {
	for _, c := range []struct {
		name string
		p    results.Percentiles
		want string
	}{
		{"no echo came back", results.Percentiles{}, "        —"},
		{"4 µs, which %.2f ms printed 0.00 ms", results.Percentiles{Count: 100, P99: 0.004}, "     4 µs"},
		{"the histogram's floor", results.Percentiles{Count: 100, P99: 0.001}, "     1 µs"},
		{"under the floor", results.Percentiles{Count: 100, P99: 0.0002}, "   < 1 µs"},
		{"sub-millisecond", results.Percentiles{Count: 100, P99: 0.283}, "   283 µs"},
		{"milliseconds", results.Percentiles{Count: 100, P99: 12.345}, "  12.3 ms"},
		{"seconds", results.Percentiles{Count: 100, P99: 6740}, "   6.74 s"},
	} {
		if got := stepP99(c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
