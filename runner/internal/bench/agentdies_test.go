package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"c10klab/runner/internal/results"
)

// agentPIDs lists this process's children that run `c10klab agent`.
func agentPIDs(t *testing.T) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The parent pid is the fourth field, after the command in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) && strings.Contains(string(cmd), "agent\x00") {
			out = append(out, pid)
		}
	}
	return out
}

// Drill: one agent of several killed mid-run. The step in progress is
// recorded, cut and untrusted; the verdict names the swarm at the offer it
// was at, never the model; nothing is left behind.
func TestDrillOneAgentKilled(t *testing.T) {
	opt := testOptions(t, realModels(t), "epoll")
	opt.Steps = []int{300, 600}
	opt.ConnsPerProcess = 250 // three agents
	killed := 0
	opt.Observe = func(label string, r results.Record) {
		if r.Step != nil && r.Step.Index == 0 && killed == 0 {
			pids := agentPIDs(t)
			if len(pids) < 2 {
				t.Errorf("agents %v: want several", pids)
				return
			}
			killed = pids[0]
			syscall.Kill(killed, syscall.SIGKILL)
		}
	}
	dir, err := Run(context.Background(), opt)
	if killed == 0 {
		t.Fatalf("no agent was killed (run: %v)", err)
	}
	l, lerr := results.Load(dir)
	if lerr != nil {
		t.Fatal(lerr)
	}
	steps := l.Steps("epoll")
	if len(steps) != 2 || !steps[1].Cut || steps[1].Offered != 600 || !strings.Contains(steps[1].Untrusted, "agent died") {
		t.Fatalf("steps %+v: want the step in progress recorded, cut and untrusted", steps)
	}
	s := l.Summaries["epoll"]
	if s.Cause == nil || s.Cause.Side != results.SideSwarm || s.Cause.Mechanism != results.MechAgentDied || s.FailedOffered != 0 {
		t.Fatalf("summary %+v: want the swarm blamed, the model not failed", s)
	}
	if !strings.Contains(s.Diagnosis, "600 offered") || s.Capacity != 300 {
		t.Errorf("diagnosis %q capacity %d: want the offer it was at and the capacity before", s.Diagnosis, s.Capacity)
	}
	t.Logf("diagnosis: %s", s.Diagnosis)
}
