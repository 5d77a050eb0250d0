package bench

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/render"
	"c10klab/runner/internal/results"
)

func TestParseWorkList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "cpu=200us", want: []string{"cpu=200us"}},
		{in: "none;cpu=200us; wait=50ms ;block=5ms", want: []string{"", "cpu=200us", "wait=50ms", "block=5ms"}},
		{in: "cpu=100us,wait=20ms;none", want: []string{"cpu=100us,wait=20ms", ""}},
		{in: "cpu=200us;none;cpu=200us", err: "given twice"},
		{in: "spin=1ms", err: "unknown kind"},
		{in: "wait=1h", err: "unit"},
		{in: " ; ", err: "names no work setting"},
	} {
		got, err := ParseWorkList(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseWorkList(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
		case err != nil || !slices.Equal(got, c.want):
			t.Errorf("ParseWorkList(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCrossWork(t *testing.T) {
	specs := []model.Spec{{Name: "epoll"}, {Name: "py-asyncio", Preset: "executor"}, {Name: "gnet", Work: "wait=1ms"}}
	var got []string
	for _, s := range CrossWork(specs, []string{"", "block=5ms"}) {
		got = append(got, s.Label())
	}
	want := []string{"epoll", "epoll@block=5ms", "py-asyncio-executor", "py-asyncio-executor@block=5ms", "gnet@wait=1ms"}
	if !slices.Equal(got, want) {
		t.Errorf("labels %q, want %q", got, want)
	}
	env := workEnv(model.Spec{Name: "epoll", Work: "cpu=200us"}, 16)
	if !slices.Equal(env, []string{"C10K_WORK=cpu=200us", "C10K_SIZE=16"}) {
		t.Errorf("work env %q", env)
	}
	if env := workEnv(model.Spec{Name: "epoll"}, 16); env != nil {
		t.Errorf("a plain echo gets work env %q", env)
	}
}

// A model measured under --work: the plain echo and a 50 ms wait, each its
// own measurement, the work passed to the model (the readiness probe whole
// requests of --size), its echoes no sooner than the wait, and the report's
// matrix and chart drawn from the saved files.
func TestWorkRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a model twice")
	}
	opt := testOptions(t, realModels(t), "goroutine")
	opt.Specs = CrossWork(opt.Specs, []string{"", "wait=50ms"})
	opt.Steps = []int{100}
	opt.Conformance = true // skipped, and said so, for the work setting
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := render.Render(dir); err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	plain, ok1 := l.Summaries["goroutine"]
	work, ok2 := l.Summaries["goroutine@wait=50ms"]
	if !ok1 || !ok2 {
		t.Fatalf("summaries %v, want goroutine and goroutine@wait=50ms", slices.Collect(maps.Keys(l.Summaries)))
	}
	if plain.Capacity != 100 || work.Capacity != 100 {
		t.Errorf("capacities %d and %d, want 100 each (a 50 ms wait is well within the 1 s deadline)", plain.Capacity, work.Capacity)
	}
	if work.Latency.P50 < 50 || plain.Latency.P50 >= 50 {
		t.Errorf("p50 %.1f ms with wait=50ms and %.1f ms without: the work did not reach the model", work.Latency.P50, plain.Latency.P50)
	}
	md, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Work per message", "| model | none | wait=50ms |", "| goroutine | 100 · p99 ", "work.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "work.png")); err != nil {
		t.Error(err)
	}
	if h, err := os.ReadFile(filepath.Join(dir, "REPORT.html")); err != nil || !strings.Contains(string(h), "Work per message") {
		t.Errorf("REPORT.html has no work matrix (%v)", err)
	}
}
