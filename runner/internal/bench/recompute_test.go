package bench

import (
	"context"
	"encoding/json"
	"testing"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// The analysis of a results folder gives exactly the summaries and
// diagnoses the run wrote: what `c10klab plot` shows can be recomputed
// from the files alone.
func TestAnalysisRecomputesWhatTheRunWrote(t *testing.T) {
	opt := testOptions(t, testdataModels(t), "capk", "acceptk")
	opt.ModelEnv = []string{"C10K_TEST_K=150"}
	opt.Steps = []int{100, 300}
	opt.Conformance = false
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Run.Format != results.FormatAnalysis {
		t.Fatalf("run.json format %d", l.Run.Format)
	}
	for _, m := range []string{"capk", "acceptk"} {
		stored, ok := l.Summaries[m]
		if !ok {
			t.Fatalf("no summary for %s", m)
		}
		again, src := analysis.Summary(l, m)
		if src != analysis.Recomputed {
			t.Fatalf("%s: summary source %v, want recomputed", m, src)
		}
		a, _ := json.Marshal(stored)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Errorf("%s: the run wrote\n%s\nthe analysis of its files gives\n%s", m, a, b)
		}
		if stored.Cause == nil || stored.Cause.Side == "" {
			t.Errorf("%s: no structured cause: %+v", m, stored)
		}
		t.Logf("%s: %s", m, again.Diagnosis)
	}
	// capk's run is also TestDiagnosisNamesProvokedFailure's case of a cap
	// of live connections: one run of 10 s serves both.
	s := l.Summaries["capk"]
	want := []string{"server: the server closes connections right after accepting them once 150 are live (a cap of 150)", "read:EOF"}
	if s.Stop != results.StopNotSustained {
		t.Errorf("capk: stop %q, want %q", s.Stop, results.StopNotSustained)
	}
	for _, w := range want {
		if !diagnosisHas(s.Diagnosis, w) {
			t.Errorf("capk: diagnosis %q lacks %q", s.Diagnosis, w)
		}
	}
}
