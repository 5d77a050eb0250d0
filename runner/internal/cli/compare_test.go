package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testdata/runs holds three small run folders of a default bench, made
// up to cover every kind of row: runs that agree (epoll, py-gevent), that
// differ within ±15% (goroutine), a run far off its median (forked), a
// model below the first step in most runs (threaded), one measured in a
// single run (py-forking) and one interrupted before its first step
// (py-gevent in the last run). forked's timelines hold the steps that
// decide the noise line: in the run far off its median, other processes
// took 0.8 CPU at its failing step, against 0.05 in another run at the
// same count.
const runsDir = "testdata/runs"

func fixtureRuns(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(runsDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, filepath.Join(runsDir, e.Name()))
	}
	if len(dirs) != 3 {
		t.Fatalf("%d fixture runs in %s, want 3", len(dirs), runsDir)
	}
	return dirs
}

func TestCompareRunsGolden(t *testing.T) {
	dirs := fixtureRuns(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"compare-3-runs.golden.md", append([]string{"compare"}, dirs...)},
		{"compare-2-runs-table.golden.md", []string{"compare", "--table", dirs[0], dirs[1]}},
		// A flag after the folders is a flag, not a folder.
		{"compare-2-runs-table.golden.md", []string{"compare", dirs[0], dirs[1], "--table"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(tc.args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if errb.Len() > 0 {
				t.Errorf("warnings on the fixture runs: %s", errb.String())
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", tc.golden, out.String())
			}
		})
	}
}

// TestCompareRunsContent checks what the golden table must say, so that
// an -update cannot bless a table that lost it.
func TestCompareRunsContent(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(append([]string{"compare"}, fixtureRuns(t)...), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	md := out.String()
	for _, want := range []string{
		"| model | 20261203-100000 | 20261203-101500 | 20261203-103000 | median | spread | verdict |",
		"| epoll | ≥ 47.9k (the swarm's limit) | ≥ 48k (the swarm's limit) | ≥ 48k (the swarm's limit) | ≥ 48k | 0% | ~ |",
		"| 19k | 47% | **outside ±15%**: 20261203-101500 -47% |",
		"| within ±15% |",
		"| py-gevent | 16k sustained, 17.6k failed | 16.5k sustained, 18k failed | — |", // interrupted before its first step
		"| py-forking | — | — | 40 sustained, 44 failed | 40 | — | — |",
		"| **run took** | 14m2s | 13m41s | 9m12s |",
		"- forked in 20261203-101500: 10k sustained, 11k failed, 47% under the median; at its failing step (11k) other processes took 0.80 CPU",
		"(kworker/u4:2-events_unbound 0.65, backup-job 0.15) (0.05 at comparable counts in the other runs)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if strings.Contains(md, "| 0 |") || strings.Contains(md, "NaN") || strings.Contains(md, "Inf") {
		t.Errorf("a figure below its resolution or never measured:\n%s", md)
	}
}

// TestCompareTwoRunsUnchanged: two folders without --table still print the
// side-by-side comparison (its golden is report's compare.golden.txt).
func TestCompareTwoRunsUnchanged(t *testing.T) {
	dirs := fixtureRuns(t)
	var out, errb bytes.Buffer
	if code := Main([]string{"compare", dirs[0], dirs[1]}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var want bytes.Buffer
	a, err := results.Load(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.Load(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Compare(&want, a, b); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("compare A B printed\n%s\nwant report.Compare's\n%s", out.String(), want.String())
	}
}

func TestCompareUsage(t *testing.T) {
	dirs := fixtureRuns(t)
	for _, args := range [][]string{{"compare"}, {"compare", dirs[0]}} {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
		if !strings.Contains(errb.String(), "usage: c10klab compare") {
			t.Errorf("%v: no usage in %q", args, errb.String())
		}
	}
}
