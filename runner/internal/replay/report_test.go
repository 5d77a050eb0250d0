package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

func TestWrap(t *testing.T) {
	got := wrap("- ", "  ", "one two three four five six", 12)
	want := "- one two\n  three four\n  five six\n"
	if got != want {
		t.Errorf("wrap:\n%q\nwant\n%q", got, want)
	}
	// A word longer than the width stays whole on its own line.
	if got := wrap("", "", "abcdefghijklmnop x", 5); got != "abcdefghijklmnop\nx\n" {
		t.Errorf("long word: %q", got)
	}
}

// TestReportFromFiles writes a replay folder's files by hand and checks
// that REPLAY.md and the chart are made from them, and that Rejudge finds
// the same verdict again from replay.json alone.
func TestReportFromFiles(t *testing.T) {
	dir := t.TempDir()
	w, err := createRecords(dir, "forked")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 5 {
		s := Sample{Time: t0.Add(time.Duration(i) * time.Second), Elapsed: float64(i + 1), Phase: PhaseRun,
			Server: results.Proc{Procs: 41, Threads: 41}, Client: results.Proc{Threads: 300, FDs: 300},
			Sockets:  Sockets{Listening: true, AcceptQueue: 6, SynSent: 248, ClientEstab: 46, ServerEstab: 46},
			Counters: map[string]int64{"TcpExt.ListenOverflows": int64(100 * i)}}
		if i == 4 {
			s.Phase, s.Server.CPUSys = PhaseAfter, 2
		}
		if err := appendRecord(w, Record{Type: "sample", Sample: &s}); err != nil {
			t.Fatal(err)
		}
	}
	e := Exception{Index: 300, Elapsed: 0.1, Type: "OSError", Errno: ip(24), Op: "socket"}
	appendRecord(w, Record{Type: "exception", Exception: &e})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	oc := Outcome{Server: "forked", Stop: StopDuration, RunSeconds: 4, ClientNoFile: 300, Backlog: 5,
		Peak: Peaks{ServerProcs: 41, AcceptQueue: 6, SynSent: 248}, End: Sockets{SynSent: 248, ClientEstab: 46, ServerEstab: 46},
		EndServerProcs: 41, Counters: map[string]int64{"TcpExt.ListenOverflows": 300}, Sysctls: map[string]int64{},
		Failures: classes([]Exception{e})}
	pr := Probe{MaxChildren: 40, RequestQueueSize: 5}
	oc.Verdict = Judge(&oc, pr)
	rep := &Replay{ID: "test", Probe: pr, Outcomes: []Outcome{oc}}
	if err := writeJSON(filepath.Join(dir, ReplayFile), rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(dir, rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReplayReport))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{oc.Verdict.Headline, "| clients | client out of descriptors | socket | OSError EMFILE (24) | 1 |", ChartName + ".png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("REPLAY.md lacks %q", want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, ChartName+".png")); err != nil || fi.Size() < 1000 {
		t.Errorf("chart: %v", err)
	}
	again, err := Rejudge(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Outcomes[0].Verdict; got.Side != oc.Verdict.Side || got.Headline != oc.Verdict.Headline {
		t.Errorf("rejudged: %q / %q, want %q / %q", got.Side, got.Headline, oc.Verdict.Side, oc.Verdict.Headline)
	}
}
