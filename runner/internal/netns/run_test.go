package netns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/swarm"
)

// A run over four client hosts, as `bench --hosts 4` makes it: the test
// re-executes itself in the server host (RunInServer), starts the epoll
// model there and one swarm agent in each client host, holds connections
// from all four and counts them at the server by peer address.

const (
	envExe   = "C10K_NETNS_TEST_EXE"
	envModel = "C10K_NETNS_TEST_MODEL"
	perHost  = 500
)

// runReport is what the helper inside the server host tells the test.
type runReport struct {
	Sustained int            `json:"sustained"`
	Echoed    int64          `json:"echoed"`
	ByPeer    map[string]int `json:"by_peer"`
	PIDs      []int          `json:"pids"` // model and agents
	Err       string         `json:"err,omitempty"`
}

func runHelper() int {
	rep := runOverHosts()
	json.NewEncoder(os.Stdout).Encode(rep)
	if rep.Err != "" {
		return 1
	}
	return 7
}

func runOverHosts() (rep runReport) {
	hosts, ok, err := netns.Inside()
	if err != nil || !ok {
		return runReport{Err: fmt.Sprintf("Inside: %v %v", ok, err)}
	}
	addr := netip.AddrPortFrom(hosts.Server.Addr, 9999)
	srv, err := model.Start(model.StartConfig{Bin: os.Getenv(envModel), Name: "epoll", Addr: addr, Backlog: 4096, Instances: 1})
	if err != nil {
		return runReport{Err: err.Error()}
	}
	defer srv.Stop(2 * time.Second)
	rep.PIDs = append(rep.PIDs, srv.PIDs()...)
	// In the server host the runner's own readiness check works as is.
	if err := srv.WaitReady(context.Background(), 10*time.Second); err != nil {
		return runReport{Err: err.Error()}
	}
	var launchers []swarm.Launcher
	for _, c := range hosts.Clients {
		launchers = append(launchers, swarm.Pipe{Exe: os.Getenv(envExe), Wrap: c.Wrap, Src: c.Addr, SrcCount: len(c.Srcs)})
	}
	n := perHost * len(hosts.Clients)
	sw, err := swarm.Start(swarm.Config{Agents: len(launchers), TotalRate: 4000, Launchers: launchers,
		Agent: swarm.AgentConfig{Addr: addr, Interval: 250 * time.Millisecond, Deadline: 250 * time.Millisecond,
			ConnectTimeout: 2 * time.Second, MsgSize: 16, MaxInFlight: 256}})
	if err != nil {
		return runReport{Err: err.Error()}
	}
	defer sw.Stop()
	rep.PIDs = append(rep.PIDs, sw.PIDs()...)
	if err := sw.SetTarget(n); err != nil {
		return runReport{Err: err.Error()}
	}
	var base int64 = -1
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		select {
		case err := <-sw.Died():
			rep.Err = err.Error()
			return rep
		default:
		}
		sum, _ := sw.Collect()
		rep.Sustained, rep.Echoed = sum.Sustained, sum.Echoed
		if sum.Sustained == n && base < 0 {
			base = sum.Echoed
		}
		if base >= 0 && sum.Echoed >= base+int64(2*n) {
			break // every connection echoed twice more while all were held
		}
		if time.Now().After(deadline) {
			rep.Err = fmt.Sprintf("not sustained in 30s: %+v", sum)
			return rep
		}
	}
	// The server host's own view of its connections, by client address.
	out, err := exec.Command("ss", "-Htn", "state", "established", "sport", "= :9999").Output()
	if err != nil {
		rep.Err = fmt.Sprintf("ss: %v", err)
		return rep
	}
	rep.ByPeer = map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if ap, err := netip.ParseAddrPort(f[len(f)-1]); err == nil {
			rep.ByPeer[ap.Addr().String()]++
		}
	}
	return rep
}

func TestRunOverFourHosts(t *testing.T) {
	needNetns(t)
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("skipping: needs ss (iproute2)")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "c10klab")
	if out, err := exec.Command("go", "build", "-o", exe, "c10klab/runner").CombinedOutput(); err != nil {
		t.Fatalf("build c10klab: %v\n%s", err, out)
	}
	root := filepath.Join("..", "..", "..")
	ms, err := model.Discover(filepath.Join(root, "models"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Find(ms, "epoll")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := model.Build(context.Background(), m, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(helperEnv, "run")
	t.Setenv(envExe, exe)
	t.Setenv(envModel, bin)
	var stdout, stderr strings.Builder
	code, err := netns.RunInServer(4, netns.DefaultSettings(), []string{os.Args[0], "-test.run=^$"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var rep runReport
	if jerr := json.Unmarshal([]byte(stdout.String()), &rep); jerr != nil || code != 7 {
		t.Fatalf("helper: exit %d, report %q (%v), stderr %s", code, stdout.String(), jerr, stderr.String())
	}
	t.Logf("sustained %d, echoed %d, at the server by peer %v", rep.Sustained, rep.Echoed, rep.ByPeer)
	want := map[string]int{}
	for i := range 4 {
		want[fmt.Sprintf("10.213.%d.1", i+1)] = perHost
	}
	if fmt.Sprint(rep.ByPeer) != fmt.Sprint(want) {
		t.Errorf("server's connections by peer %v, want %v", rep.ByPeer, want)
	}
	if left := ownLeftovers(t); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
	for _, pid := range rep.PIDs {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("process %d of the run still there: %v", pid, err)
		}
	}
}
