package conformance_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"c10klab/runner/conformance"
	"c10klab/runner/internal/launch"
)

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs Debian's /usr/bin/python3")
	}
}

// noExecModel is the bench's testdata model whose `run` starts its server
// as a child without exec.
func noExecModel(t *testing.T) conformance.Model {
	t.Helper()
	needPython(t)
	bin, err := filepath.Abs("../internal/bench/testdata/models/noexec/run")
	if err != nil {
		t.Fatal(err)
	}
	return conformance.Model{Name: "noexec", Bin: bin}
}

// A `run` that starts its server without exec keeps the contract: the
// suite starts it with the runner's launcher and every check passes.
func TestNoExecModelPassesTheSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Python model through every check")
	}
	m := noExecModel(t)
	ctx := t.Context()

	in, err := m.StartFree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The suite must be testing a family: the process started is the
	// shell, and it holds no listener of its own.
	leader, err := launch.ReadProc(in.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(leader.Comm, "python") {
		t.Fatalf("the leader is %v: the shell exec'd the server, the test tests nothing", leader)
	}
	fam, err := launch.Family(in.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(fam) < 2 {
		t.Fatalf("family %v: want the shell and the server", fam)
	}
	if err := conformance.Quick(ctx, in.Addr()); err != nil {
		t.Fatalf("quick: %v", err)
	}
	for _, c := range conformance.NetChecks() {
		if err := c.Run(ctx, in.Addr(), conformance.Options{}); err != nil {
			t.Error(err)
		}
	}
	if took, err := in.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	} else {
		t.Logf("stopped on SIGTERM in %v", took.Round(time.Millisecond))
	}
	for _, c := range conformance.ProcChecks() {
		err := c.Run(ctx, m, conformance.Options{})
		if reason, ok := conformance.Skipped(err); ok {
			t.Logf("%s: %s", c.Name, reason)
			continue
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// The checks test correctness, not capacity: Python's ForkingMixIn with
// its defaults (40 children, backlog 5) passes the quick check and the
// full network checks, though it cannot hold 45 connections.
func TestForkingMixInDefaultsPass(t *testing.T) {
	needPython(t)
	bin, err := filepath.Abs("testdata/forkingmixin/run")
	if err != nil {
		t.Fatal(err)
	}
	m := conformance.Model{Name: "forkingmixin", Bin: bin}
	ctx := t.Context()
	in, err := m.StartFree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Kill()

	begin := time.Now()
	if err := conformance.Quick(ctx, in.Addr()); err != nil {
		t.Fatalf("quick: %v", err)
	}
	t.Logf("quick check passed in %v", time.Since(begin).Round(time.Millisecond))
	for _, c := range conformance.NetChecks() {
		if err := c.Run(ctx, in.Addr(), conformance.Options{}); err != nil {
			t.Error(err)
		}
	}

	// It is the capped server it claims to be: more connections than its
	// 40 children do not all get served, so a suite sized to capacity
	// would refuse it.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conns, err := conformance.DialEcho(cctx, in.Addr(), 45, 4)
	if err == nil {
		for _, c := range conns {
			c.Close()
		}
		t.Fatal("45 connections all echoed: not ForkingMixIn's cap of 40")
	}
	t.Logf("45 connections: %v", err)
}
