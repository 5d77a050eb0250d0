package replay

import (
	"context"
	"os"

	"path/filepath"

	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/results"
)

// TestReplaySmall runs the original programs at small scale (a client
// limit of 300 descriptors, 500 threads) and asserts both explanations:
// the forked server fails on the server's side by its cap on children and
// its listen backlog, with timeouts or resets counted; the threaded one on
// the client's side, at the client's open-files limit, with EMFILE (or a
// gaierror) seen. It asserts mechanisms and counts, never timings, so a
// busy machine only makes it slower.
func TestReplaySmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the original programs for about a minute")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("needs a network namespace of its own: %v", err)
	}
	opt := Defaults()
	if _, err := os.Stat(opt.Python); err != nil {
		t.Skipf("no %s", opt.Python)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	opt.Root, opt.ResultsDir = root, t.TempDir()
	opt.Threads, opt.ClientNoFile = 500, 300
	// In the replay's own namespace only: unanswered connect()s give up
	// after 7 s instead of 127 s.
	opt.SynRetries = 2
	opt.Duration, opt.Quiet, opt.After = 45*time.Second, 5*time.Second, 2*time.Second
	opt.Observe = func(server, line string) { t.Logf("%s: %s", server, line) }

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, rep, err := Run(ctx, opt)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if len(rep.Outcomes) != 2 {
		t.Fatalf("%d outcomes, want forked and threaded", len(rep.Outcomes))
	}
	t.Logf("verdict:\n%s", Verdicts(rep))

	forked, threaded := rep.Outcomes[0], rep.Outcomes[1]
	fv, tv := forked.Verdict, threaded.Verdict

	// Forked: the server's side, by the cap on children and the backlog.
	if fv.Side != results.SideServer {
		t.Errorf("forked: side %q, want %q: %s", fv.Side, results.SideServer, fv.Headline)
	}
	if want := rep.Probe.MaxChildren + 1; forked.Peak.ServerProcs != want {
		t.Errorf("forked: %d server processes at the peak, want %d (parent + max_children)", forked.Peak.ServerProcs, want)
	}
	for _, k := range []string{KeyChildrenCap, KeyListenBacklog, KeySynDropped} {
		if !fv.Has(k) {
			t.Errorf("forked: no %q finding; mechanisms: %+v", k, fv.Mechanisms)
		}
	}
	if forked.WaitSamples == 0 {
		t.Errorf("forked: the parent was never seen in wait4() at the cap")
	}
	if !fv.Has(KeyTimeouts) && !fv.Has(KeyResets) {
		t.Errorf("forked: neither timeouts nor resets counted; failures %+v", forked.Failures)
	}
	if fv.ServerFailures == 0 {
		t.Errorf("forked: no failure on the server's account")
	}
	if forked.Counters["TcpExt.ListenOverflows"] == 0 {
		t.Errorf("forked: ListenOverflows did not move")
	}

	// Threaded: the client's side, at its open-files limit.
	if tv.Side != results.SideClients {
		t.Errorf("threaded: side %q, want %q: %s", tv.Side, results.SideClients, tv.Headline)
	}
	if !tv.Has(KeyClientFDs) {
		t.Errorf("threaded: want %q; mechanisms: %+v", KeyClientFDs, tv.Mechanisms)
	}
	// How many of the client's connections reach the server in time
	// depends on how fast a busy machine lets the server accept: either
	// it served them, or the verdict says how many it had not.
	if !tv.Has(KeyServing) && !tv.Has(KeyNotAccepted) {
		t.Errorf("threaded: neither %q nor %q; mechanisms: %+v", KeyServing, KeyNotAccepted, tv.Mechanisms)
	}
	if threaded.ClientNoFile != 300 || threaded.Peak.ClientFDs < 290 {
		t.Errorf("threaded: client limit %d, peak fds %d: the client did not reach its limit", threaded.ClientNoFile, threaded.Peak.ClientFDs)
	}
	seen := false
	for _, f := range threaded.Failures {
		if f.Side == results.SideClients && (f.Name == "EMFILE" || f.Errno != nil && *f.Errno < 0) {
			seen = true
		}
		if f.Side == results.SideServer {
			t.Errorf("threaded: a failure on the server's account: %+v", f)
		}
	}
	if !seen {
		t.Errorf("threaded: no EMFILE or gaierror among %+v", threaded.Failures)
	}
	if handlers := threaded.EndServerThreads - 1; handlers+tv.NotAccepted < threaded.End.ClientEstab*9/10 {
		t.Errorf("threaded: %d handlers and %d not accepted for %d established connections", handlers, tv.NotAccepted, threaded.End.ClientEstab)
	}

	// Handlers that only recv() spin once the client is gone.
	for _, oc := range rep.Outcomes {
		if !oc.Verdict.Has(KeyBusyLoop) {
			t.Errorf("%s: no busy-loop finding: CPU %.2f → %.2f cores", oc.Server, oc.CPURun, oc.CPUAfter)
		}
	}

	// The folder: records, report, chart.
	for _, f := range []string{ReplayFile, ReplayReport, ChartName + ".png", "replay-forked.jsonl", "replay-threaded.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder: %v", err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, ReplayReport))
	if !strings.Contains(string(md), fv.Headline) {
		t.Errorf("REPLAY.md lacks the forked headline")
	}
	// Nothing left running: no process of either program, no namespace.
	left, err := netns.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range left {
		if owner, _ := netns.Owner(name); owner == os.Getpid() {
			t.Errorf("namespace left behind: %s", name)
		}
	}
	scripts := filepath.Join(root, "replay", "original")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), scripts) {
			t.Errorf("still running: %s: %q", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}
