package bench

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// searchRun runs one capk model (a cap of K live connections, the rest
// closed as they are accepted) with the capacity search on, and returns
// its summary and steps, checking on the way that the analysis of the
// folder recomputes the summary the run wrote.
func searchRun(t *testing.T, k string, setup func(*Options)) (results.Summary, []results.Step) {
	t.Helper()
	opt := testOptions(t, testdataModels(t), "capk")
	opt.ModelEnv = []string{"C10K_TEST_K=" + k}
	opt.Conformance = false
	opt.Search = true
	setup(&opt)
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored, ok := l.Summaries["capk"]
	if !ok {
		t.Fatal("no summary for capk")
	}
	again, _ := analysis.Summary(l, "capk")
	a, _ := json.Marshal(stored)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("the run wrote\n%s\nthe analysis of its files gives\n%s", a, b)
	}
	steps := l.Steps("capk")
	for _, st := range steps {
		t.Logf("step %d: offered %d sustained %d ok %v search %v why %q", st.Index, st.Offered, st.Sustained, st.OK, st.Search, st.Why)
	}
	t.Logf("capacity %d, failed %d, search %s (%s)", stored.Capacity, stored.BracketFailed, stored.Search, stored.SearchDetail)
	return stored, steps
}

// The search brackets a known capacity to within 10% from a coarse plan,
// on real loopback sockets (about 25 s).
func TestSearchBracketsAKnownCapacity(t *testing.T) {
	const k = 1300
	s, steps := searchRun(t, "1300", func(o *Options) { o.Steps = []int{1000, 2000} })
	if s.Search != results.SearchBracketed {
		t.Fatalf("search ended %q (%s), want %q", s.Search, s.SearchDetail, results.SearchBracketed)
	}
	// K connections are all a capk holds; a step offering up to K/0.95
	// still sustains 95% of its offer.
	if s.Capacity > k || float64(s.Capacity) < 0.9*k {
		t.Errorf("capacity %d, want within 10%% below %d", s.Capacity, k)
	}
	if s.BracketFailed <= k || float64(s.BracketFailed-s.Capacity) > 0.1*float64(s.Capacity)+1 {
		t.Errorf("bracket %d sustained, %d failed: want the failed count above %d and within 10%%", s.Capacity, s.BracketFailed, k)
	}
	probes := 0
	for _, st := range steps {
		if st.Search {
			probes++
		}
		if st.Search == (st.Offered == 1000 || st.Offered == 2000) {
			t.Errorf("step %d (%d offered) marked search %v", st.Index, st.Offered, st.Search)
		}
	}
	if probes == 0 {
		t.Error("no search step recorded")
	}
}

// A model that holds everything offered ends its search at a named limit:
// here the run's ceiling (--max-offered), with its figure (about 8 s).
func TestSearchEndsAtANamedLimit(t *testing.T) {
	s, steps := searchRun(t, "100000", func(o *Options) { o.Steps = []int{100}; o.MaxOffered = 150 })
	if s.Search != results.SearchCeiling || !strings.Contains(s.SearchDetail, "150") {
		t.Fatalf("search ended %q (%s), want %q naming 150", s.Search, s.SearchDetail, results.SearchCeiling)
	}
	if len(steps) != 2 || steps[1].Offered != 150 || !steps[1].Search {
		t.Errorf("steps %+v: want 100, then a search step at the ceiling of 150", steps)
	}
	if s.Capacity != 150 || s.BracketFailed != 0 {
		t.Errorf("bracket %d sustained, %d failed; want 150 and open", s.Capacity, s.BracketFailed)
	}
}

// The budget stops the search with what it found, saying so (about 5 s).
func TestSearchStopsWhenTheBudgetIsSpent(t *testing.T) {
	start := time.Now()
	s, steps := searchRun(t, "100000", func(o *Options) { o.Steps = []int{100, 200, 400}; o.Budget = 7 * time.Second })
	if s.Search != results.SearchBudget || !strings.Contains(s.SearchDetail, "budget") {
		t.Fatalf("search ended %q (%s), want %q", s.Search, s.SearchDetail, results.SearchBudget)
	}
	if len(steps) == 0 || len(steps) == 3 {
		t.Errorf("%d steps within a 7 s budget of steps of about 4 s (5 s foreseen), want 1 or 2", len(steps))
	}
	t.Logf("took %v", time.Since(start).Round(100*time.Millisecond))
}
