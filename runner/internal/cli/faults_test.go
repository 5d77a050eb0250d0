package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// smallBench is a run of a few seconds: two small steps of one model.
func smallBench(bin, port, resultsDir string) *exec.Cmd {
	cmd := exec.Command(bin, "bench", "--models", "goroutine", "--search=false", "--steps", "50,100", "--hold", "1s",
		"--interval", "250ms", "--deadline", "250ms", "--port", port, "--results", resultsDir)
	wd, _ := os.Getwd()
	cmd.Dir = filepath.Join(wd, "..", "..", "..")
	return cmd
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("run: %v", err)
	}
	return ee.ExitCode()
}

// assertNothingLeft checks that no process of the run (run from binDir,
// where the command is) and none of its cgroups outlive it.
func assertNothingLeft(t *testing.T, binDir string, pid int) {
	t.Helper()
	if left := runningFrom(binDir); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
	groups, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "c10klab", "*-"+strconv.Itoa(pid)+"-*"))
	if len(groups) > 0 {
		t.Errorf("cgroups left behind: %v", groups)
	}
}

// TestClosedStdoutKeepsTheRun is `c10klab bench | head -1`: the reader of
// stdout exits after the first line. The run must not die of SIGPIPE: it
// says once on stderr that stdout closed, measures to the end, writes the
// summary and REPORT.md, and leaves no process or cgroup behind.
func TestClosedStdoutKeepsTheRun(t *testing.T) {
	tmp := t.TempDir()
	bin := c10klab
	resultsDir := filepath.Join(tmp, "results")
	cmd := smallBench(bin, freePort(t), resultsDir)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	w.Close()
	first, err := bufio.NewReader(r).ReadString('\n')
	r.Close() // head -1 exits
	if err != nil || !strings.HasPrefix(first, "c10klab bench:") {
		t.Fatalf("first line %q, %v", first, err)
	}
	if code := exitStatus(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit status %d, want 0 (the run itself succeeded)\nstderr:\n%s", code, stderr.String())
	}
	if n := strings.Count(stderr.String(), "stdout closed"); n != 1 {
		t.Errorf("stderr says %d times that stdout closed, want once:\n%s", n, stderr.String())
	}
	dir, err := results.Latest(resultsDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), dir) {
		t.Errorf("stderr does not name the results folder %s:\n%s", dir, stderr.String())
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Error(err)
	}
	if l.Run.Finished.IsZero() || l.Run.Outcome != "completed" {
		t.Errorf("run outcome %q, finished %v: want a completed run", l.Run.Outcome, l.Run.Finished)
	}
	if s, ok := l.Summaries["goroutine"]; !ok || s.Stop != results.StopTarget || len(l.Steps("goroutine")) != 2 {
		t.Errorf("summary %+v, %d steps: want both steps measured to the target", s, len(l.Steps("goroutine")))
	}
	if b, err := os.ReadFile(filepath.Join(dir, report.ReportFile)); err != nil || !bytes.HasPrefix(b, []byte("# c10klab run")) {
		t.Errorf("REPORT.md: %v, %.40q", err, b)
	}
	assertNothingLeft(t, filepath.Dir(bin), cmd.Process.Pid)
}

// tmpfs mounts a tmpfs (mount options opts) in a temporary folder and
// unmounts it when the test ends; it skips without root.
func tmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestResultsDiskFull runs bench with its results on a tiny disk: 200 KiB
// fills while the charts are drawn, 12 KiB while the timeline is written.
// Either way the run exits non-zero naming ENOSPC, and nothing in the
// folder is empty, cut short or a leftover temporary file that could later
// read as valid: every JSON file parses, every PNG decodes, a cut timeline
// is flagged when read, REPORT.md is whole or absent.
func TestResultsDiskFull(t *testing.T) {
	bin := c10klab
	for _, size := range []string{"200k", "12k"} {
		t.Run(size, func(t *testing.T) {
			disk := tmpfs(t, "size="+size)
			cmd := smallBench(bin, freePort(t), disk)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitStatus(t, cmd.Run())
			if code == 0 {
				t.Errorf("exit status 0 on a full disk\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "no space left on device") {
				t.Errorf("stderr does not say the disk is full:\n%s", stderr.String())
			}
			if strings.Contains(stdout.String(), "report: ") {
				t.Errorf("stdout names a report that was not written:\n%s", stdout.String())
			}
			// One run folder, unless even its run.json did not fit.
			dirs, _ := filepath.Glob(filepath.Join(disk, "*"))
			for _, dir := range dirs {
				assertWholeOrAbsent(t, dir)
			}
			assertNothingLeft(t, filepath.Dir(bin), cmd.Process.Pid)
		})
	}
}

// assertWholeOrAbsent checks every file of a run folder written under a
// full disk.
func assertWholeOrAbsent(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case results.IsTemp(name):
			t.Errorf("temporary file %s left behind", name)
		case len(b) == 0 && !strings.HasSuffix(name, ".jsonl"):
			t.Errorf("%s is empty", name)
		case strings.HasSuffix(name, ".json"):
			if !json.Valid(b) {
				t.Errorf("%s is not whole JSON", name)
			}
		case strings.HasSuffix(name, ".png"):
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s does not decode: %v", name, err)
			}
		case name == report.ReportFile:
			if !bytes.Contains(b, []byte("\n## Versions\n")) { // the last section
				t.Errorf("REPORT.md is cut short")
			}
		}
	}
	l, err := results.Load(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return // run.json never fitted
		}
		t.Fatalf("the folder does not load: %v", err)
	}
	for m := range l.Timelines {
		b, _ := os.ReadFile(results.TimelinePath(dir, m))
		cut := len(b) > 0 && b[len(b)-1] != '\n'
		if flagged := errors.Is(l.Check(), results.ErrDamaged); cut && !flagged {
			t.Errorf("%s.jsonl ends mid-line but loads as whole", m)
		}
	}
}

// TestResultsReadOnly: on a read-only disk bench refuses before starting
// any model, says why and exits non-zero.
func TestResultsReadOnly(t *testing.T) {
	bin := c10klab
	disk := tmpfs(t, "size=64k,ro")
	cmd := smallBench(bin, freePort(t), disk)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitStatus(t, cmd.Run()); code == 0 {
		t.Errorf("exit status 0 on a read-only disk")
	}
	if !strings.Contains(stderr.String(), "read-only file system") {
		t.Errorf("stderr does not say the disk is read-only:\n%s", stderr.String())
	}
	if strings.Contains(stdout.String(), "model_started") {
		t.Errorf("a model was started although nothing could be saved:\n%s", stdout.String())
	}
	assertNothingLeft(t, filepath.Dir(bin), cmd.Process.Pid)
}

// TestPlotMissingTimeline: `c10klab plot` on a folder whose timeline is
// gone while its summary exists exits non-zero, says so once, and leaves
// REPORT.md and summary.csv as they were.
func TestPlotMissingTimeline(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "report", "testdata", "run-small")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"plot", dir}, &out, &errb); code != 0 {
		t.Fatalf("plot of a whole run: exit %d\n%s", code, errb.String())
	}
	kept := map[string][]byte{}
	for _, f := range []string{report.ReportFile, report.SummaryCSV} {
		kept[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	if err := os.Remove(results.TimelinePath(dir, "epoll")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := Main([]string{"plot", dir}, &out, &errb); code == 0 {
		t.Errorf("plot with epoll.jsonl gone: exit 0")
	}
	if n := strings.Count(errb.String(), "epoll.jsonl"); n != 1 {
		t.Errorf("the missing timeline is named %d times, want once:\n%s", n, errb.String())
	}
	if !strings.Contains(out.String(), "epoll ") {
		t.Errorf("the summary table lacks epoll, whose summary exists:\n%s", out.String())
	}
	for f, before := range kept {
		if after, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(before, after) {
			t.Errorf("%s was rewritten", f)
		}
	}
}

// TestBenchRefusesBadFlags: settings that cannot work are refused before
// anything starts: no results folder, no model.
func TestBenchRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--models", "epoll,epoll"}, "epoll is given twice"},
		{[]string{"--procs", "100000"}, "--procs 100000"},
		{[]string{"--procs", "-3"}, "--procs -3"},
		{[]string{"--target", "-1"}, "--target -1"},
		{[]string{"--target", "0"}, "--target 0"},
		{[]string{"--size", "1"}, "message size 1 outside 8..65536"},
		{[]string{"--size", "10000000"}, "message size 10000000"},
		{[]string{"--steps", "100,50"}, "ascending"},
		{[]string{"--steps", "100,100"}, "ascending"},
		{[]string{"--target", "100000000"}, "swarm agents"},
		{[]string{"--backlog", "-1"}, "--backlog -1"},
		{[]string{"--dial-agents", "2"}, "--dial-agents needs --control"},
		{[]string{"--control", "127.0.0.1:0"}, "--control needs --dial-agents"},
		{[]string{"--ssh-hosts", "/nonexistent/hosts"}, "--ssh-hosts: open /nonexistent/hosts"},
		{[]string{"--addr", "localhost"}, "want an IP address"},
		{[]string{"--addr", "192.0.2.1"}, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			resultsDir := filepath.Join(t.TempDir(), "results")
			args := append([]string{"bench", "--results", resultsDir, "--port", freePort(t)}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, ","), "--models") {
				args = append(args, "--models", "epoll")
			}
			var out, errb bytes.Buffer
			if code := Main(args, &out, &errb); code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q, want %q", errb.String(), tt.want)
			}
			if _, err := os.Stat(resultsDir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a results folder was created: %v", err)
			}
		})
	}
}
