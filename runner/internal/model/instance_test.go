package model_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

const helperEnv = "MODEL_TEST_HELPER"

// TestMain lets the test binary be a model: an echo server on C10K_ADDR
// that first prints a line that is not a report and one that is.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "echo" {
		os.Exit(m.Run())
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if os.Getenv(contract.EnvReusePort) == "1" {
			c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", os.Getenv(contract.EnvAddr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("listening, not a report")
	fmt.Printf(`{"model":"helper","instance":%s,"kind":"accept","errno":"EMFILE","count":3,"conns":7}`+"\n", os.Getenv(contract.EnvInstance))
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(2)
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// noExecScript writes a `run` that starts the helper as its child and
// waits, as a new user's shell script does.
func noExecScript(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	script := fmt.Sprintf("#!/bin/sh\n%s=echo %q\nexit $?\n", helperEnv, self)
	if err := os.WriteFile(run, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return run
}

func freeAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// Two instances of a script that does not exec its server: both are ready
// by their families, the open-files limit reaches the server (the shell's
// child), and the report line arrives converted while the other is
// ignored.
func TestStartNoExecScript(t *testing.T) {
	const noFile = 321
	var mu sync.Mutex
	var reports []results.ServerReport
	addr := freeAddr(t)
	r, err := model.Start(model.StartConfig{
		Bin: noExecScript(t), Name: "noexec", Addr: addr, Instances: 2, NoFile: noFile,
		OnReport: func(rep results.ServerReport) {
			mu.Lock()
			reports = append(reports, rep)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(contract.StopBudget)
	if err := r.WaitReady(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, pid := range r.PIDs() {
		fam, err := launch.Family(pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(fam) < 2 {
			t.Fatalf("family of %d: %v, want the shell and its child", pid, fam)
		}
		for _, p := range fam {
			if got := maxOpenFiles(t, p.PID); got != noFile {
				t.Errorf("%v: open-files limit %d, want %d", p, got, noFile)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(reports)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 2 {
		t.Fatalf("got %d reports %+v, want one from each instance", len(reports), reports)
	}
	seen := map[int]bool{}
	for _, rep := range reports {
		if rep.Kind != contract.KindAccept || rep.Errno != "EMFILE" || rep.Count != 3 || rep.Conns != 7 || rep.Model != "helper" {
			t.Errorf("report %+v", rep)
		}
		seen[rep.Instance] = true
	}
	if !seen[0] || !seen[1] {
		t.Errorf("reports from instances %v, want 0 and 1", seen)
	}
	if err := r.Stop(contract.StopBudget); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case e := <-r.Exited():
		t.Fatalf("an exit Stop asked for was reported: %v", e)
	default:
	}
}

func maxOpenFiles(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			var soft int
			fmt.Sscan(strings.Fields(strings.TrimPrefix(line, "Max open files"))[0], &soft)
			return soft
		}
	}
	t.Fatalf("no open-files limit in /proc/%d/limits", pid)
	return 0
}

// An instance that exits before it serves is named with its status and
// stderr.
func TestWaitReadyNamesAnEarlyExit(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if err := os.WriteFile(run, []byte("#!/bin/sh\necho cannot bind >&2\nexit 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := model.Start(model.StartConfig{Bin: run, Name: "quits", Addr: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(contract.StopBudget)
	err = r.WaitReady(t.Context(), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 4") || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("got %v, want the exit status and stderr", err)
	}
}
