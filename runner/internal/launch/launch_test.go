package launch_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
)

// helperEnv selects what the test binary does when started as a model.
const helperEnv = "LAUNCH_TEST_HELPER"

// TestMain lets the test binary itself be the model: an echo server on
// C10K_ADDR ("echo"), a listener that never accepts ("noaccept"), or a
// program that prints its environment and exits ("env").
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "echo", "noaccept":
		ln, err := net.Listen("tcp", os.Getenv(contract.EnvAddr))
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		if os.Getenv(helperEnv) == "noaccept" {
			select {}
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(2)
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	case "env":
		os.Stdout.WriteString(strings.Join(os.Environ(), "\n") + "\n")
		os.Exit(0)
	}
	os.Exit(3)
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

// noExec runs the test binary as a helper the way a `run` script without
// exec does: the shell is the process started, the server is its child.
// The command after it keeps the shell from exec-ing its last command.
func noExec(mode string) launch.Config {
	self, _ := os.Executable()
	return launch.Config{
		Argv: []string{"/bin/sh", "-c", `"$0"; exit $?`, self},
		Env:  []string{helperEnv + "=" + mode},
	}
}

func start(t *testing.T, cfg launch.Config) *launch.Process {
	t.Helper()
	p, err := launch.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// The rule is the family's: the shell started never listens, its child
// does, and the model is ready.
func TestReadyWhenAChildListens(t *testing.T) {
	addr := freeAddr(t)
	cfg := noExec("echo")
	cfg.Contract = contract.Config{Addr: addr.String()}
	p := start(t, cfg)
	if err := launch.WaitReady(t.Context(), addr, []*launch.Process{p}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	fam, err := launch.Family(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(fam) < 2 {
		t.Fatalf("family of %d is %v: want the shell and its child", p.Pid(), fam)
	}
	// The shell itself holds no listener: a rule on the exact pid started
	// would never find this model ready.
	leader, err := launch.ReadProc(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if listeners := listeningIn(t, []launch.Proc{leader}, addr.Port()); listeners != 0 {
		t.Fatalf("the shell (pid %d, %s) holds %d listeners: the test does not test a family", p.Pid(), leader.Comm, listeners)
	}
	if listeners := listeningIn(t, fam, addr.Port()); listeners != 1 {
		t.Fatalf("the family holds %d listeners on port %d, want 1", listeners, addr.Port())
	}
	start := time.Now()
	if killed := launch.Stop(contract.StopBudget, p); len(killed) != 0 {
		t.Fatalf("killed %d after SIGTERM; the family should exit on it", len(killed))
	}
	t.Logf("ready, then stopped by SIGTERM in %v", time.Since(start).Round(time.Millisecond))
	for _, q := range fam {
		if launch.Alive(q) {
			t.Errorf("%v outlived Stop", q)
		}
	}
}

func listeningIn(t *testing.T, procs []launch.Proc, port uint16) int {
	t.Helper()
	socks, err := launch.TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	inodes := launch.SocketInodes(procs)
	n := 0
	for _, s := range socks {
		if s.State == launch.TCPListen && s.LocalPort == port {
			if _, ok := inodes[s.Inode]; ok {
				n++
			}
		}
	}
	return n
}

func TestNotReady(t *testing.T) {
	tests := []struct {
		name    string
		cfg     launch.Config
		timeout time.Duration
		want    string
		exited  bool
	}{
		{"exits", launch.Config{Argv: []string{"/bin/sh", "-c", "exit 3"}}, 10 * time.Second,
			"exited (exit status 3) before serving", true},
		{"listens, never accepts", noExec("noaccept"), 5 * time.Second,
			"the probe was not echoed", false},
		{"never listens", launch.Config{Argv: []string{"/bin/sh", "-c", "sleep 30; exit 0"}}, 500 * time.Millisecond,
			"listens on port", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			tt.cfg.Contract = contract.Config{Addr: addr.String()}
			p := start(t, tt.cfg)
			err := launch.WaitReady(t.Context(), addr, []*launch.Process{p}, tt.timeout)
			if !errors.Is(err, launch.ErrNotReady) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrNotReady saying %q", err, tt.want)
			}
			var ex *launch.ExitedError
			if errors.As(err, &ex) != tt.exited {
				t.Fatalf("got %v: exited %v, want %v", err, !tt.exited, tt.exited)
			}
		})
	}
}

// A model gets exactly the contract's values it is given: inherited C10K_
// variables are dropped, Contract is written, Env comes last and wins.
func TestEnvironment(t *testing.T) {
	t.Setenv("C10K_FORK_CAP", "7")
	t.Setenv(contract.EnvBacklog, "5")
	self, _ := os.Executable()
	var out syncBuffer
	p := start(t, launch.Config{
		Argv:     []string{self},
		Contract: contract.Config{Addr: "127.0.0.1:1", Instance: 2, ReusePort: true},
		Env:      []string{helperEnv + "=env", contract.EnvInstance + "=3"},
		Stdout:   &out,
	})
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	env := map[string][]string{}
	for _, kv := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = append(env[k], v)
	}
	want := map[string]string{
		contract.EnvAddr: "127.0.0.1:1", contract.EnvReusePort: "1", contract.EnvInstance: "3",
	}
	for k, v := range want {
		if got := env[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want exactly %q", k, got, v)
		}
	}
	for _, k := range []string{"C10K_FORK_CAP", contract.EnvBacklog, contract.EnvPreset} {
		if got, ok := env[k]; ok {
			t.Errorf("%s = %q reached the model, want it unset", k, got)
		}
	}
}

// Stop gives the budget, then kills a leader that ignores SIGTERM.
func TestStopKillsAfterBudget(t *testing.T) {
	var out syncBuffer
	p := start(t, launch.Config{
		Argv:   []string{"/bin/sh", "-c", `trap "" TERM; echo trapped; while :; do sleep 0.05; done`},
		Stdout: &out,
	})
	for !strings.Contains(out.String(), "trapped") { // SIGTERM only once it is ignored
		if p.Wait(10 * time.Millisecond) {
			t.Fatalf("the shell exited: %s", p.Status())
		}
	}
	begin := time.Now()
	killed := launch.Stop(300*time.Millisecond, p)
	took := time.Since(begin)
	if len(killed) != 1 || killed[0] != p {
		t.Fatalf("killed %v, want the leader that ignores SIGTERM", killed)
	}
	if took < 300*time.Millisecond {
		t.Fatalf("stopped after %v, before the budget of 300ms", took)
	}
	if !p.Exited() || !p.DiedOf(syscall.SIGKILL) {
		t.Fatalf("leader %s, want killed by SIGKILL", p.Status())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
