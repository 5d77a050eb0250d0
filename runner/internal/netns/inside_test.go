package netns_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/internal/netns"
)

// helperEnv makes the test binary act as one of the helpers below.
const helperEnv = "C10K_NETNS_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "inside":
		os.Exit(insideHelper())
	case "crash":
		crashHelper()
	case "run":
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

// insideHelper runs in the server host: it checks it is there, serves an
// echo at the server's address and has a client host's process reach it.
// It exits 7 when all went well, so the caller sees its exit status.
func insideHelper() int {
	fail := func(format string, a ...any) int { fmt.Fprintf(os.Stderr, format+"\n", a...); return 1 }
	hosts, ok, err := netns.Inside()
	if err != nil || !ok {
		return fail("Inside: %v %v", ok, err)
	}
	var self, srv syscall.Stat_t
	if syscall.Stat("/proc/self/ns/net", &self) != nil || syscall.Stat("/run/netns/"+hosts.Server.Name, &srv) != nil || self.Ino != srv.Ino {
		return fail("not in the server's namespace")
	}
	if b, _ := os.ReadFile("/proc/sys/net/core/somaxconn"); strings.TrimSpace(string(b)) != "31337" {
		return fail("somaxconn %q in the server host", b)
	}
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(hosts.Server.Addr, 0).String())
	if err != nil {
		return fail("listen: %v", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	a := netip.MustParseAddrPort(ln.Addr().String())
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo hello >&3 && read -t 5 -u 3 x && echo $x", a.Addr(), a.Port())
	argv := hosts.Clients[0].Wrap([]string{"bash", "-c", script})
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello" {
		return fail("client host's echo: %q %v", out, err)
	}
	if err := hosts.Close(); err != nil { // borrowed: must not remove anything
		return fail("Close: %v", err)
	}
	return 7
}

// crashHelper makes hosts and waits to be killed.
func crashHelper() {
	hosts, err := netns.Create(1, netns.DefaultSettings())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(hosts.Names(), " "))
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestRunInServer runs a command inside the server host and checks it saw
// the hosts, reached a client host, and that its exit status came back and
// every namespace went afterwards.
func TestRunInServer(t *testing.T) {
	needNetns(t)
	t.Setenv(helperEnv, "inside")
	s := netns.DefaultSettings()
	s.Somaxconn = 31337
	var stderr strings.Builder
	code, err := netns.RunInServer(2, s, []string{os.Args[0], "-test.run=^$"}, io.Discard, &stderr)
	if err != nil || code != 7 {
		t.Fatalf("RunInServer: exit %d, %v; helper said: %s", code, err, stderr.String())
	}
	if left := ownLeftovers(t); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

// TestSweepAfterCrash: a process that made hosts is killed with SIGKILL;
// its namespaces stay (nothing could remove them) until the next Sweep
// recognises them as a gone owner's and removes them.
func TestSweepAfterCrash(t *testing.T) {
	needNetns(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=crash")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	names := strings.Fields(line)
	cmd.Process.Kill() // by PID: the helper this test started
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) {
		t.Fatalf("helper wait: %v", err)
	}
	left, err := netns.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !slices.Contains(left, n) {
			t.Fatalf("%s gone before the sweep: the test shows nothing", n)
		}
	}
	removed, err := netns.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !slices.Contains(removed, n) {
			t.Errorf("swept %v, want %s among them", removed, n)
		}
	}
	if left, _ = netns.Leftovers(); slices.ContainsFunc(left, func(n string) bool { return slices.Contains(names, n) }) {
		t.Errorf("still there after the sweep: %v", left)
	}
}
