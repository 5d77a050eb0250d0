package cli

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// TestBenchTakesDialInAgents runs bench with --dial-agents on loopback: the
// run says which command to start, the test starts it as a user would on
// another host, and the agent that dials in drives the model to the end.
func TestBenchTakesDialInAgents(t *testing.T) {
	tmp := t.TempDir()
	bin := c10klab
	resultsDir := filepath.Join(tmp, "results")
	cmd := smallBench(bin, freePort(t), resultsDir)
	cmd.Args = append(cmd.Args, "--dial-agents", "1", "--control", "127.0.0.1:"+freePort(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var said strings.Builder
	sc := bufio.NewScanner(stdout)
	var agentArgs []string
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
		if _, line, ok := strings.Cut(sc.Text(), "(again for each model): c10klab "); ok {
			agentArgs = strings.Fields(line)
			break
		}
	}
	if agentArgs == nil {
		t.Fatalf("bench never said what agent to start:\n%s", said.String())
	}
	go io.Copy(io.Discard, stdout)
	agent := exec.Command(bin, agentArgs...)
	var agentErr bytes.Buffer
	agent.Stderr = &agentErr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitStatus(t, err); code != 0 {
			t.Fatalf("bench exit %d\n%s\nagent: %s", code, out.String(), agentErr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("bench with a dial-in agent did not end in 2 minutes\n%s", out.String())
	}
	if err := agent.Wait(); err != nil {
		t.Errorf("the agent did not end with the run: %v\n%s", err, agentErr.String())
	}
	dir, err := results.Latest(resultsDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Summaries["goroutine"]; s.Stop != results.StopTarget || s.Capacity != 100 {
		t.Errorf("summary stop %q capacity %d: want the 100 connections of the last step sustained through the dial-in agent", s.Stop, s.Capacity)
	}
	assertNothingLeft(t, filepath.Dir(bin), cmd.Process.Pid)
}
