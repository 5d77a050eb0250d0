package swarm_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/pin"
	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/swarm"
)

// BenchmarkAgentEfficiency measures what one swarm agent costs: it opens
// -conns connections (default 19,000, what one agent holds under a 20,000
// open-files limit) to the epoll model, reports the connect rate, then holds
// them at one message a second (interval=1s) or a minute (interval=1m, the
// scale profile's) and reports the agent's CPU use. Model and agent are
// pinned to different CPUs (when there are two).
//
//	go test -run '^$' -bench AgentEfficiency -benchtime 1x ./runner/internal/swarm
//
// The figures are metrics, not assertions: speed targets belong in
// benchmarks, not in tests that flake on a busy machine.
func BenchmarkAgentEfficiency(b *testing.B) {
	for _, interval := range []time.Duration{time.Second, time.Minute} {
		b.Run("interval="+interval.String(), func(b *testing.B) { agentEfficiency(b, interval) })
	}
}

func agentEfficiency(b *testing.B, interval time.Duration) {
	const conns = 19000
	const hold = 10 * time.Second
	dir := b.TempDir()
	root := filepath.Join("..", "..", "..")
	c10klab := filepath.Join(dir, "c10klab")
	if out, err := exec.Command("go", "build", "-o", c10klab, "c10klab/runner").CombinedOutput(); err != nil {
		b.Fatalf("build c10klab: %v\n%s", err, out)
	}
	ms, err := model.Discover(filepath.Join(root, "models"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.Find(ms, "epoll")
	if err != nil {
		b.Fatal(err)
	}
	bin, err := model.Build(context.Background(), m, root, dir)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	// Model and agent on CPUs of their own, so the agent's CPU time is its
	// own work and not time shared with the model.
	cpus, err := pin.Allowed()
	if err != nil {
		b.Fatal(err)
	}
	modelCPUs, swarmCPUs := cpus[:1], cpus[len(cpus)-1:]
	srv, err := model.Start(model.StartConfig{Bin: bin, Name: "epoll", Addr: addr, Backlog: 4096, Instances: 1, CPUs: modelCPUs})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop(2 * time.Second)
	if err := srv.WaitReady(context.Background(), 5*time.Second); err != nil {
		b.Fatal(err)
	}
	sw, err := swarm.Start(swarm.Config{
		Exe: c10klab, Agents: 1, TotalRate: 20000, CPUs: swarmCPUs,
		Agent: swarm.AgentConfig{Addr: addr, Interval: interval, Deadline: time.Second,
			ConnectTimeout: 5 * time.Second, MsgSize: 16, MaxInFlight: 4096},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Stop()
	agent := probe.NewTree(probe.TreeConfig{Roots: sw.PIDs()})

	b.ResetTimer()
	start := time.Now()
	if err := sw.SetTarget(conns); err != nil {
		b.Fatal(err)
	}
	var opened time.Duration
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, _ := sw.Collect(); st.Open >= conns {
			opened = time.Since(start)
			break
		}
	}
	if opened == 0 {
		st, _ := sw.Collect()
		b.Fatalf("only %d of %d connections opened in 30 s (failures %v, client %v)", st.Open, conns, st.Failures, st.ClientFailures)
	}
	// Let the first messages settle, then measure a steady hold.
	time.Sleep(2 * time.Second)
	before, err := agent.Sample()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(hold)
	after, err := agent.Sample()
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(t0).Seconds()
	st, h := sw.Collect()
	b.StopTimer()
	cpu := (after.CPUUser + after.CPUSys - before.CPUUser - before.CPUSys) / elapsed
	b.ReportMetric(float64(conns)/opened.Seconds(), "conns/s")
	b.ReportMetric(100*cpu, "%cpu/agent")
	b.ReportMetric(100*(after.CPUUser-before.CPUUser)/elapsed, "%user")
	b.ReportMetric(100*(after.CPUSys-before.CPUSys)/elapsed, "%sys")
	b.ReportMetric(float64(st.Sustained), "sustained")
	b.ReportMetric(swarm.Percentiles(h).P99, "p99-ms")
	// At a message a minute the hold sees only a sixth of the connections
	// echo, so only failures can be asserted.
	if interval == time.Second && st.Sustained < conns*95/100 {
		b.Errorf("agent sustained %d of %d: the figures above measure a failing run", st.Sustained, conns)
	}
	if len(st.Failures) > 0 {
		b.Errorf("failures %v: the figures above measure a failing run", st.Failures)
	}
}
