package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/plot"
	"c10klab/runner/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const runSmall = "testdata/run-small"

func mustLoad(t *testing.T, dir string) *results.Loaded {
	t.Helper()
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runB is run-small measured again with changes: epoll held more at a
// lower p99, goroutine was not measured and gnet was added.
func runB(t *testing.T) *results.Loaded {
	b := mustLoad(t, runSmall)
	b.Run.ID = "20260116-090000-small"
	e := b.Summaries["epoll"]
	e.Capacity, e.Latency.P99, e.UserMemPerConn = 4000, e.Latency.P99*0.8, e.UserMemPerConn*1.5
	b.Summaries["epoll"] = e
	delete(b.Summaries, "goroutine")
	delete(b.Timelines, "goroutine")
	b.Run.Models = append(b.Run.Models, "gnet")
	b.Timelines["gnet"] = nil
	b.Summaries["gnet"] = results.Summary{Model: "gnet", Capacity: 3990, CapacityOffered: 4000, Stop: results.StopTarget,
		Latency: results.Percentiles{Count: 9000, P99: 0.85}, UserMemPerConn: 900, KernelMemPerConn: 4700, CPUPer1kEchoes: 0.0081}
	return b
}

func TestGolden(t *testing.T) {
	l := mustLoad(t, runSmall)
	// The chart list plot.Render returns for this run, without drawing.
	var charts []string
	for _, n := range []string{results.SustainedChart, results.LatencyChart, results.MemoryChart, results.CPUChart, results.CostChart} {
		charts = append(charts, filepath.Join(runSmall, n+".png"), filepath.Join(runSmall, n+".svg"))
	}
	for _, m := range l.Models() {
		for _, n := range []string{results.FailuresChart(m), results.TimelineChart(m)} {
			charts = append(charts, filepath.Join(runSmall, n+".png"), filepath.Join(runSmall, n+".svg"))
		}
	}
	for _, tc := range []struct {
		golden string
		render func(w io.Writer) error
	}{
		{"REPORT.golden.md", func(w io.Writer) error {
			b, err := Markdown(l, charts)
			w.Write(b)
			return err
		}},
		{"table.golden.txt", func(w io.Writer) error { return Table(w, l) }},
		{"compare.golden.txt", func(w io.Writer) error { return Compare(w, l, runB(t)) }},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var got bytes.Buffer
			if err := tc.render(&got); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", tc.golden, got.String())
			}
		})
	}
}

// TestReportContent checks what the golden files must say, so an -update
// cannot silently bless a report that lost them.
func TestReportContent(t *testing.T) {
	l := mustLoad(t, runSmall)
	md, err := Markdown(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	var table, cmp bytes.Buffer
	if err := Table(&table, l); err != nil {
		t.Fatal(err)
	}
	if err := Compare(&cmp, l, runB(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"markdown", string(md), []string{
			"| threaded \\* | — | 1k |",               // crashed: derived from its steps, marked
			"model exited",                            // and what stopped it
			"accept failed with EMFILE",               // goroutine's diagnosis
			"machine: open files (soft)",              // an environment warning
			"goroutine: the accept queue",             // a summary warning
			"epoll: step 3 (4k offered) is untrusted", // every untrusted step
			"| 3.98k | 4k | — | — | target reached | 1.42 ms | 1.12 KiB | 4.59 KiB | 9.07 ms |",
			"predates the inputs the analysis needs", // an old folder says what cannot be recomputed
			"| pids.max (cgroup) | 1600 | 1.59k | system |",
		}},
		{"table", table.String(), []string{"epoll       —          3.98k       4k       —  target reached  1.42 ms", "threaded *", "* no summary"}},
		{"compare", cmp.String(), []string{"+17  (+0.4%)", "only in A", "only in B", "-283 µs  (-20.0%)"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.text, w) {
				t.Errorf("%s: no %q in\n%s", tc.name, w, tc.text)
			}
		}
		if strings.Contains(tc.text, "NaN") || strings.Contains(tc.text, "Inf") {
			t.Errorf("%s has NaN or Inf:\n%s", tc.name, tc.text)
		}
	}
}

func copyRun(t *testing.T, from string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkRendered asserts REPORT.md's every image link names a file that
// exists and every CSV is rectangular.
func checkRendered(t *testing.T, dir string) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) == 0 {
		t.Errorf("REPORT.md links no chart")
	}
	for _, m := range links {
		if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
			t.Errorf("REPORT.md links %s: %v", m[1], err)
		}
	}
	csvs, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(csvs) == 0 {
		t.Errorf("no CSV written")
	}
	for _, p := range csvs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		// csv.Reader rejects rows whose field count differs from the header.
		if _, err := csv.NewReader(f).ReadAll(); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
		f.Close()
	}
	return string(md)
}

// render is what package render does with this package's outputs and the
// charts: the tests of REPORT.md need the chart files beside it.
func render(dir string) error {
	l, err := results.Load(dir)
	if err != nil {
		return err
	}
	charts, err := plot.Render(l, dir)
	if err != nil {
		return err
	}
	if _, err := WriteCSV(l, dir); err != nil {
		return err
	}
	md, err := Markdown(l, charts)
	if err != nil {
		return err
	}
	return errors.Join(os.WriteFile(filepath.Join(dir, ReportFile), md, 0o644), l.Check())
}

func TestRender(t *testing.T) {
	dir := copyRun(t, runSmall)
	if err := render(dir); err != nil {
		t.Fatal(err)
	}
	checkRendered(t, dir)
	l := mustLoad(t, dir)
	for _, m := range l.Models() {
		for _, tc := range []struct {
			file string
			rows int
		}{{TimelineCSV(m), len(l.Samples(m))}, {StepsCSV(m), len(l.Steps(m))}} {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil || len(recs) != tc.rows+1 {
				t.Errorf("%s: %d rows (%v), want header + %d", tc.file, len(recs), err, tc.rows)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, TimelineCSV("threaded")))
	if !strings.Contains(string(b), "failures:read:ECONNRESET") || !strings.Contains(string(b), ",1928,") {
		t.Errorf("timeline-threaded.csv lacks the failure columns or the final total 1928")
	}
}

// TestRenderCrashedRun draws a run whose runner died: no summaries, no
// finish time, and a timeline whose last line was cut short.
func TestRenderCrashedRun(t *testing.T) {
	dir := copyRun(t, runSmall)
	sums, _ := filepath.Glob(filepath.Join(dir, "*.summary.json"))
	for _, s := range sums {
		os.Remove(s)
	}
	l := mustLoad(t, dir)
	l.Run.Finished, l.Run.Outcome = time.Time{}, ""
	if err := results.WriteRun(dir, &l.Run); err != nil {
		t.Fatal(err)
	}
	tl := results.TimelinePath(dir, "goroutine")
	b, _ := os.ReadFile(tl)
	if err := os.WriteFile(tl, b[:len(b)-200], 0o644); err != nil {
		t.Fatal(err)
	}
	// The cut is drawn around and named, in the error and atop the report.
	if err := render(dir); !errors.Is(err, results.ErrDamaged) || !strings.Contains(err.Error(), "goroutine.jsonl line") {
		t.Fatalf("Render: %v, want the cut goroutine.jsonl named", err)
	}
	md := checkRendered(t, dir)
	for _, want := range []string{"Incomplete results", "goroutine.jsonl line", "the run did not finish", "| epoll \\* |", "| goroutine \\* |", "no summary"} {
		if !strings.Contains(md, want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
}

// TestRenderEdgeCases: one model that died before its first step, one
// that never sustained a connection, in a run of one model each.
func TestRenderEdgeCases(t *testing.T) {
	start := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		recs []results.Record
	}{
		{"no-steps", []results.Record{
			{Type: results.TypeEvent, Event: &results.Event{Time: start, Kind: results.EventStarted, Msg: "started"}},
			{Type: results.TypeEvent, Event: &results.Event{Time: start.Add(50 * time.Millisecond), Kind: results.EventExited, Msg: "exit status 1: bind: address already in use"}},
		}},
		{"zero-sustained", []results.Record{
			{Type: results.TypeSample, Sample: &results.Sample{Time: start.Add(time.Second), Elapsed: 1, Offered: 100,
				Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 100, Failures: map[string]int64{"deadline:ETIMEDOUT": 100}}}}},
			{Type: results.TypeStep, Step: &results.Step{StepFailures: results.StepFailures{Failures: map[string]int64{"deadline:ETIMEDOUT": 100}}, StepCost: results.StepCost{UserMem: 4096}, Index: 0, Offered: 100, Open: 100}},
			{Type: results.TypeEvent, Event: &results.Event{Time: start.Add(2 * time.Second), Kind: results.EventGuard, Msg: "available memory below 256 MiB"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := results.WriteRun(dir, &results.Run{ID: tc.name, Started: start, Models: []string{"m"}}); err != nil {
				t.Fatal(err)
			}
			tl, err := results.CreateTimeline(dir, "m")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.recs {
				if err := tl.Append(r); err != nil {
					t.Fatal(err)
				}
			}
			tl.Close()
			if err := render(dir); err != nil {
				t.Fatal(err)
			}
			md := checkRendered(t, dir)
			var table bytes.Buffer
			if err := Table(&table, mustLoad(t, dir)); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{md, table.String()} {
				if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
					t.Errorf("NaN or Inf in output:\n%s", out)
				}
			}
			if !strings.Contains(md, "m \\*") {
				t.Errorf("the model without a summary is not marked:\n%s", md)
			}
		})
	}
}

func TestRunnerCPUCell(t *testing.T) {
	tests := []struct {
		cpu, hold float64
		want      string
	}{
		{0.1, 4, "0.025"},      // 0.1 s of CPU over a 4 s window
		{2.6, 4, "0.650"},      // the /proc walk of 10,000 processes, before the cgroups
		{0, 4, "—"},            // not recorded: an older folder
		{0.1, 0, "—"},          // no window
		{0.0004, 4, "< 0.001"}, // below the resolution shown: said so, not 0.000
	}
	for _, tc := range tests {
		if got := runnerCPUCell(results.Step{StepCost: results.StepCost{RunnerCPU: tc.cpu, HoldSeconds: tc.hold}}); got != tc.want {
			t.Errorf("runner CPU %v s over %v s: %q, want %q", tc.cpu, tc.hold, got, tc.want)
		}
	}
}

func TestProcValsLeaveUnreadEmpty(t *testing.T) {
	read := procVals(results.Proc{Procs: 2, Threads: 3, FDs: 9, RSS: 10, PSS: 8})
	unread := procVals(results.Proc{Procs: 2, Threads: 3, NoDetail: true})
	if read[2] != "9" || read[4] != "8" || unread[2] != "" || unread[3] != "" || unread[4] != "" || unread[0] != "2" {
		t.Errorf("read %q, unread %q: want the fds, rss and pss cells empty only where they were not read", read, unread)
	}
}
