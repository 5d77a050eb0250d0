package cli

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// TestCtrlCKeepsWhatWasMeasured runs the real command, interrupts it as a
// terminal's Ctrl-C would, and checks that it exits 130, keeps the
// measured steps and samples, says the model's run was interrupted, and
// leaves none of its processes behind. The same interrupt delivered twice
// at once (GNU timeout -s INT signals the command and then its process
// group) is still one interrupt, not the "quit at once" of a second Ctrl-C.
func TestCtrlCKeepsWhatWasMeasured(t *testing.T) {
	// Twice at once covers once: the first signal is handled the same way
	// either way, and each case costs a real run of ~12 s under -race.
	ctrlC(t, 2)
}

func ctrlC(t *testing.T, signals int) {
	tmp := t.TempDir()
	bin := c10klab
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	resultsDir := filepath.Join(tmp, "results")
	cmd := exec.Command(bin, "bench", "--models", "goroutine", "--search=false", "--steps", "200,400", "--hold", "60s",
		"--interval", "250ms", "--deadline", "250ms", "--port", strconv.Itoa(port), "--results", resultsDir)
	wd, _ := os.Getwd()
	cmd.Dir = filepath.Join(wd, "..", "..", "..")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Interrupt once the first step is being held: wait for a sample with
	// connections open, seen through the model_ready line and a pause.
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	ready := false
	var pids []int
	pidRE := regexp.MustCompile(`pids \[([0-9 ]+)\]`)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := pidRE.FindStringSubmatch(line); m != nil {
			for _, f := range strings.Fields(m[1]) {
				p, _ := strconv.Atoi(f)
				pids = append(pids, p)
			}
		}
		if strings.Contains(line, "model_ready") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("model never became ready:\n%s\n%s", out.String(), stderr.String())
	}
	time.Sleep(4 * time.Second)
	for range signals {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopping the run, keeping what was measured") {
		t.Errorf("stderr does not say what Ctrl-C does:\n%s", stderr.String())
	}

	dir, err := results.Latest(resultsDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Run.Outcome, "interrupted") || l.Run.Finished.IsZero() {
		t.Errorf("run outcome %q finished %v", l.Run.Outcome, l.Run.Finished)
	}
	s, ok := l.Summaries["goroutine"]
	if !ok || s.Stop != results.StopInterrupted {
		t.Fatalf("summary %+v: want stop %q", s, results.StopInterrupted)
	}
	samples := l.Samples("goroutine")
	if len(samples) < 2 || samples[len(samples)-1].Swarm.Open == 0 {
		t.Fatalf("%d samples kept, last open %v: want the measured seconds", len(samples), samples)
	}
	if len(l.Steps("goroutine")) == 0 {
		t.Errorf("the interrupted step was not recorded")
	}
	if _, err := os.Stat(filepath.Join(dir, "REPORT.md")); err != nil {
		t.Errorf("no report for the interrupted run: %v", err)
	}
	if len(pids) == 0 {
		t.Fatalf("no model pid in the output:\n%s", out.String())
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("model pid %d still running", pid)
		}
	}
	if left := runningFrom(filepath.Dir(bin)); len(left) > 0 {
		t.Errorf("agents left running: %v", left)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie is dead; only its parent has not read its status yet.
	fs := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fs) > 0 && fs[0] != "Z"
}

// runningFrom lists processes whose executable lives under dir.
func runningFrom(dir string) []string {
	procs, _ := os.ReadDir("/proc")
	var left []string
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir+"/") && p.Name() != strconv.Itoa(os.Getpid()) {
			left = append(left, p.Name()+" "+exe)
		}
	}
	return left
}
