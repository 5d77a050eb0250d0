package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// TestNeverMeasuredReadsDash: a model interrupted before its first step
// and one refused read "—" in every figure of the terminal table and of
// REPORT.md's summary, never 0; memory that fell below idle is no figure
// either, never negative.
func TestNeverMeasuredReadsDash(t *testing.T) {
	measured := results.Summary{Model: "epoll", Capacity: 16000, CapacityOffered: 16000, BracketFailed: 17600, Search: results.SearchBracketed,
		Stop: results.StopNotSustained, Latency: results.Percentiles{Count: 1000, P99: 1.5}, UserMemPerConn: 512, KernelMemPerConn: 6000,
		KernelMemResolved: true, CPUPer1kEchoes: 0.02, PeakProcs: 1, PeakThreads: 5}
	interrupted := results.Summary{Model: "py-gevent", Stop: results.StopInterrupted, Search: results.SearchEnded}
	refused := results.Summary{Model: "py-circuits", Stop: results.StopRefused}
	shrunk := measured
	shrunk.Model, shrunk.UserMemPerConn, shrunk.KernelMemPerConn = "shrunk", -300, -20
	l := runOf("r", time.Minute, measured, interrupted, refused, shrunk)

	var out bytes.Buffer
	if err := Table(&out, l); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines[f[0]] = line
		}
	}
	for model, stop := range map[string]string{"py-gevent": "interrupted", "py-circuits": "refused by conformance"} {
		line := lines[model]
		rest := strings.Fields(strings.Replace(line, stop, "", 1))
		if len(rest) != 9 {
			t.Fatalf("%s: %d cells in %q", model, len(rest), line)
		}
		for i, c := range rest[1:] {
			if c != "—" {
				t.Errorf("%s: cell %d is %q, want —, in %q", model, i+1, c, line)
			}
		}
	}
	if line := lines["shrunk"]; !strings.Contains(line, "1.5 ms          —            —") || strings.Contains(line, "-") {
		t.Errorf("negative memory printed: %q", line)
	}

	tab, _ := summaryTable(rows(l))
	peak := len(tab.head) - 1
	for _, r := range tab.rows {
		var b strings.Builder
		for _, c := range r {
			b.WriteString(mdCell(c) + " | ")
		}
		switch model := r[0].Text; model {
		case "epoll", "shrunk":
			if got := mdCell(r[peak]); got != "1 / 5" {
				t.Errorf("%s: peak %q, want 1 / 5", model, got)
			}
		default:
			if got := mdCell(r[peak]); got != "—" {
				t.Errorf("%s: peak procs / threads %q, want —: it was never sampled", model, got)
			}
			for i, c := range r[2:] {
				if i != 4 && c.Text != "—" { // 4: stopped by
					t.Errorf("%s: %s is %q, want —", model, tab.head[i+2], c.Text)
				}
			}
		}
		if strings.Contains(b.String(), "-") && r[0].Text == "shrunk" {
			t.Errorf("negative figure in %q", b.String())
		}
	}
}

// TestCompareNeverMeasured: in the two-run comparison a model never
// measured has no capacity (it read "0  0  0  n/a" before) and no change
// against the other run: "—", not "~", which would claim a difference
// inside the noise.
func TestCompareNeverMeasured(t *testing.T) {
	refused := results.Summary{Model: "py-circuits", Stop: results.StopRefused}
	a := runOf("A", time.Minute, refused, results.Summary{Model: "py-gevent", Stop: results.StopInterrupted, Search: results.SearchEnded})
	b := runOf("B", time.Minute, refused, bracket("py-gevent", 16000, 17600))
	var out bytes.Buffer
	if err := Compare(&out, a, b); err != nil {
		t.Fatal(err)
	}
	capacity := strings.SplitN(out.String(), "\n\n", 3)[1] // the first metric's table
	for _, want := range []string{
		"py-circuits             —    —       —",
		"py-gevent               —  16k       —",
	} {
		if !strings.Contains(capacity, want) {
			t.Errorf("no %q in\n%s", want, capacity)
		}
	}
	for _, bad := range []string{" 0 ", "n/a", "~"} {
		if strings.Contains(capacity, bad) {
			t.Errorf("%q in\n%s", bad, capacity)
		}
	}
}
