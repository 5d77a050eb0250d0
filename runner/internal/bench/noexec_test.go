package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// TestNoExecModelIsMeasured runs testdata/models/noexec, whose `run` is a
// shell script that starts a Python echo server as its child and waits
// (no exec), through the whole bench: it must become ready, pass the quick
// conformance check and have its steps measured, as the suite finds it
// fit. Readiness is the family's: the shell the runner started never
// listens.
func TestNoExecModelIsMeasured(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs Debian's /usr/bin/python3")
	}
	opt := testOptions(t, testdataModels(t), "noexec")
	opt.Steps = []int{20, 50}
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := l.Summaries["noexec"]
	if !ok {
		t.Fatal("no summary for noexec")
	}
	steps := l.Steps("noexec")
	if len(steps) == 0 {
		t.Fatalf("no step measured: stop %q, %s", s.Stop, s.Diagnosis)
	}
	sustained := 0
	for _, st := range steps {
		t.Logf("step %d: offered %d open %d sustained %d, p99 %.2f ms", st.Index, st.Offered, st.Open, st.Sustained, st.Latency.P99)
		if st.OK && st.Sustained == st.Offered {
			sustained++
		}
	}
	if sustained == 0 {
		t.Fatalf("no step sustained what it offered; summary stop %q: %s", s.Stop, s.Diagnosis)
	}
	if s.Capacity < opt.Steps[0] {
		t.Errorf("capacity %d, want at least the first step's %d", s.Capacity, opt.Steps[0])
	}
	serverGone(t, filepath.Join(testdataModels(t), "noexec"))
}

// serverGone fails if a process still runs a file of dir: the Python
// server is /usr/bin/python3, which noneLeft's look at executables does
// not see.
func serverGone(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var left []string
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			cmd, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
			if err == nil && bytes.Contains(cmd, []byte(dir+"/")) {
				left = append(left, p.Name()+" "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left behind: %v", left)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
