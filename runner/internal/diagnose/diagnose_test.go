package diagnose

import (
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

func TestDiagnose(t *testing.T) {
	env := results.Environment{CPUs: 2, Limits: []results.Limit{
		{Name: "open files (soft)", Value: "20000"},
		{Name: "kernel.pid_max", Value: "32768"},
	}}
	cfg := results.Config{Messages: results.Messages{Interval: time.Second}, Instances: results.Instances{ModelCPUs: []int{0}}, Judging: results.Judging{SustainRatio: 0.95}}
	ok := func(offered int) results.Step {
		return results.Step{Offered: offered, Open: offered, Sustained: offered, OK: true, Window: true}
	}
	failed := func(st results.Step) results.Step { st.Window = true; return st }
	idle := results.Sample{Model: results.Proc{FDs: 8}}
	tests := []struct {
		name string
		in   Input
		side results.Side
		mech results.Mechanism
		want []string
	}{
		{
			name: "target reached",
			in:   Input{Model: "epoll", Steps: []results.Step{ok(100), ok(200)}, Stop: results.StopTarget},
			side: results.SideNone, mech: results.MechNone,
			want: []string{"no failure", "200 connections", "target reached"},
		},
		{
			name: "accept EMFILE",
			in: Input{Model: "epoll", Instances: 1, Env: env, Stop: results.StopNotSustained,
				Steps: []results.Step{ok(19000), failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 900}},
					Index:        1,
					Offered:      25000,
					Open:         24085,
					Sustained:    19988,
				})},
				Reports: []results.ServerReport{{Kind: "accept", Errno: "EMFILE", Count: 105, Conns: 19988}}},
			side: results.SideServer, mech: results.MechOpenFiles,
			want: []string{"server: accept() failed with EMFILE", "19,988 connections", "open-files limit 20000"},
		},
		{
			name: "fork cap and listen queue",
			in: Input{Model: "forked-seed", Stop: results.StopNotSustained, Capacity: 40,
				Steps: []results.Step{ok(20), failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 657}},
					StepCost:     results.StepCost{Model: results.ProcDelta{Procs: 41}},
					Index:        1,
					Offered:      100,
					Open:         100,
					Sustained:    40,
					Counters:     map[string]int64{"TcpExt.ListenOverflows": 501},
				})},
				Reports: []results.ServerReport{{Kind: "fork_cap", Count: 1, Conns: 40}}},
			side: results.SideServer, mech: results.MechForkCap,
			want: []string{"server:", "cap of 40 children", "41 server processes", "overflowed 501 times"},
		},
		{
			name: "thread creation aborts the model",
			in: Input{Model: "threaded", Env: env, Stop: results.StopExited, Capacity: 20000,
				Exit:    &results.Exit{Code: 2, OOMKills: 0, Stderr: "runtime: failed to create new OS thread (have 32700 already; errno=11)"},
				Samples: []results.Sample{{Model: results.Proc{Threads: 32701}}},
				Steps:   []results.Step{ok(20000), {Index: 1, Offered: 40000, Sustained: 30000, Cut: true}}},
			side: results.SideServer, mech: results.MechThreadCreate,
			want: []string{"could not create an OS thread", "32,701 threads", "kernel.pid_max 32768"},
		},
		{
			name: "killed by hand is not the OOM killer",
			in: Input{Model: "epoll", Stop: results.StopExited, Capacity: 500,
				Exit:  &results.Exit{Code: -1, Signal: "SIGKILL", OOMKills: 0},
				Steps: []results.Step{ok(500), {Index: 1, Offered: 1000, Cut: true}}},
			side: results.SideServer, mech: results.MechKilled,
			want: []string{"killed by SIGKILL from outside", "no OOM kill counted"},
		},
		{
			name: "the OOM killer, by its counter",
			in: Input{Model: "forked", Stop: results.StopExited, Capacity: 500,
				Exit:  &results.Exit{Code: -1, Signal: "SIGKILL", OOMKills: 1},
				Steps: []results.Step{ok(500), {Index: 1, Offered: 1000, Cut: true}}},
			side: results.SideServer, mech: results.MechOOM,
			want: []string{"OOM killer", "1 OOM kill(s) counted"},
		},
		{
			name: "clients out of descriptors are the swarm's failure",
			in: Input{Model: "epoll", Stop: results.StopNotSustained,
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{ClientFailures: map[string]int64{"socket:EMFILE": 500}},
					Offered:      1000,
					Open:         500,
					Sustained:    500,
				})}},
			side: results.SideSwarm, mech: results.MechSwarm,
			want: []string{"clients ran out of their own resources", "socket:EMFILE", "not the model's"},
		},
		{
			name: "the server resets",
			in: Input{Model: "rst", Stop: results.StopNotSustained,
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"read:ECONNRESET": 300}},
					Offered:      300,
					Open:         0,
					Sustained:    0,
					Counters:     map[string]int64{"Tcp.EstabResets": 300},
				})}},
			side: results.SideServer, mech: results.MechResets,
			want: []string{"server: the server resets connections", "read:ECONNRESET ×300", "300 resets"},
		},
		{
			name: "a cap of live connections",
			in: Input{Model: "capk", Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Steps: []results.Step{ok(1000), ok(2000), failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"read:EOF": 500}},
					StepCost:     results.StepCost{Model: results.ProcDelta{FDs: 2008}},
					Index:        2,
					Offered:      2500,
					Open:         2000,
					Sustained:    2000,
				})}},
			side: results.SideServer, mech: results.MechConnCap,
			want: []string{"closes connections right after accepting them once 2,000 are live", "a cap of 2,000", "read:EOF ×500"},
		},
		{
			name: "holds its sockets, stopped echoing",
			in: Input{Model: "silent", Stop: results.StopNotSustained,
				Samples: []results.Sample{idle,
					{Elapsed: 3, Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 300, Echoed: 900}}, Model: results.Proc{FDs: 308}},
					{Elapsed: 4, Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 300, Echoed: 1200}}, Model: results.Proc{FDs: 308}},
					{Elapsed: 5, Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 300, Echoed: 1200}}, Model: results.Proc{FDs: 308}},
					{Elapsed: 6, Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 300, Echoed: 1200}}, Model: results.Proc{FDs: 308}},
					{Elapsed: 7, Swarm: results.Swarm{SwarmCounters: results.SwarmCounters{Open: 300, Echoed: 1200}}, Model: results.Proc{FDs: 308}}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 900}},
					StepCost:     results.StepCost{HoldSeconds: 5, Echoes: 300, Model: results.ProcDelta{FDs: 308}},
					Offered:      300,
					Open:         300,
					Sustained:    0,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideServer, mech: results.MechSilent,
			want: []string{"holds 300 sockets but stopped echoing at about 4 s", "300 of the 1,500 echoes due", "deadline ×900"},
		},
		{
			// The namespace's listen-queue counters counted another
			// listener's overflows (another run's model beside this one):
			// a model that holds every connection has no queue to blame.
			name: "a pool holding every connection, overflows elsewhere",
			in: Input{Model: "pool", Stop: results.StopNotSustained,
				Config:  results.Config{Messages: results.Messages{Interval: time.Second, Deadline: time.Second}, Judging: results.Judging{SustainRatio: 0.95}},
				Samples: []results.Sample{idle},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 200}},
					StepCost:     results.StepCost{HoldSeconds: 2, Echoes: 200, Model: results.ProcDelta{FDs: 158}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 200, P50: 0.2, P99: 0.9}},
					Offered:      150,
					Open:         150,
					Sustained:    100,
					Counters:     map[string]int64{"TcpExt.ListenOverflows": 216},
				})}},
			side: results.SideServer, mech: results.MechPool,
			want: []string{"serves about 100 of the 150 connections it holds: a pool or cap of 100"},
		},
		{
			name: "never accepts past its backlog",
			in: Input{Model: "noaccept", Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"connect:ETIMEDOUT": 171, "deadline": 129}},
					StepCost:     results.StepCost{Model: results.ProcDelta{FDs: 8}},
					Offered:      300,
					Open:         129,
					Sustained:    0,
					Counters:     map[string]int64{"TcpExt.ListenOverflows": 400},
				})}},
			side: results.SideServer, mech: results.MechListenQueue,
			want: []string{"stopped accepting", "holds 0 sockets while the clients had 129 open", "overflowed 400 times"},
		},
		{
			name: "CPU saturated",
			in: Input{Model: "threaded", Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 9000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 300, P99: 3300}},
					StepCost:     results.StepCost{HoldSeconds: 5, Model: results.ProcDelta{CPUUser: 1, CPUSys: 3.9, FDs: 15008}, Echoes: 70000},
					Offered:      15000,
					Open:         15000,
					Sustained:    15000,
					Why:          results.WhyLatency,
				})}},
			side: results.SideServer, mech: results.MechCPU,
			want: []string{"saturated (98% of 1 CPU)", "p99 3.30 s"},
		},
		{
			// gnet at 80,000 connections and a message a second (stop 9):
			// the model got 0.76 of its CPU because the agents beside it
			// and the kernel took the rest of the machine's two.
			name: "the machine's CPUs full, shared with the swarm",
			in: Input{Model: "gnet", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Steps: []results.Step{ok(60000), failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 40000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 300, P99: 1350}},
					StepCost:     results.StepCost{HoldSeconds: 4, Model: results.ProcDelta{CPUUser: 1.04, CPUSys: 2, FDs: 80008}, AgentsCPU: 4.4, MachineCPU: 7.6, ModelWait: 1.2, Echoes: 300000},
					Index:        1,
					Offered:      80000,
					Open:         80000,
					Sustained:    40112,
					Why:          results.WhyLatency,
				})}},
			// c10klab's agents are no excuse: the model's verdict, with
			// what they took beside it.
			side: results.SideServer, mech: results.MechCPU,
			want: []string{"server: deadline ×40000", "the machine's CPUs were full (1.90 of 2 busy: the model 0.76, c10klab's agents 1.10 and runner 0.00, the kernel and the rest 0.04)",
				"got 0.76 of its 1; unrelated work at least 0.00", "p99 1.35 s", "0.3 of them at a time"},
		},
		{
			// The same figures with the agents on a CPU of their own: the
			// model had its CPU and was slow all the same.
			name: "the machine's CPUs full, the swarm apart",
			in: Input{Model: "gnet", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Second}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{ok(60000), failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 40000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 300, P99: 1350}},
					StepCost:     results.StepCost{HoldSeconds: 4, Model: results.ProcDelta{CPUUser: 1.04, CPUSys: 2, FDs: 80008}, AgentsCPU: 4.4, MachineCPU: 7.6, ModelWait: 1.2, Echoes: 300000},
					Index:        1,
					Offered:      80000,
					Open:         80000,
					Sustained:    40112,
					Why:          results.WhyLatency,
				})}},
			side: results.SideServer, mech: results.MechSlow,
			want: []string{"p99 1.35 s"},
		},
		{
			// goroutine at 1M on this VM: its CPU 0 was full, and the
			// sandbox's own init (process_api) took 0.22 of it: under
			// MachineShare, within what the accounting can tell apart.
			name: "another process takes some of the model's CPU",
			in: Input{Model: "goroutine", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Minute}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 600000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 262, P99: 31000}},
					StepCost:     results.StepCost{HoldSeconds: 62, Model: results.ProcDelta{CPUUser: 9.2, CPUSys: 24.9, FDs: 818101}, AgentsCPU: 31, MachineCPU: 100, Echoes: 700000, ModelCPUBusy: 61.5, ModelCPUSoftirq: 13.6, ModelWait: 20.3, Others: []results.ProcCPU{{PID: 1, Comm: "process_api", CPU: 26}}},
					Offered:      1000000,
					Open:         818997,
					Sustained:    150000,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideServer, mech: results.MechCPU,
			want: []string{"server: deadline ×600000",
				"the model's CPU (0) was full (0.99 of 1 busy): the model 0.55, the softirqs delivering its traffic 0.22, the rest 0.22 — c10klab's agents and runner up to 0.00 of it (they used 0.50 and 0.00 CPU in all), unrelated work at least 0.22",
				"the busiest other processes on the machine: process_api (pid 1) 0.42 CPU",
				"the model's threads queued for a CPU, 0.3 of them at a time on average (schedstat: 20.3 thread-seconds in the 62 s window)"},
		},
		{
			// The same with process_api taking more than half of CPU 0,
			// and the model, at its own cost per echo, able to serve its
			// load with that CPU: the machine was the limit.
			name: "unrelated work takes half the model's CPU",
			in: Input{Model: "goroutine", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Minute}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 600000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 262, P99: 31000}},
					StepCost:     results.StepCost{HoldSeconds: 62, Model: results.ProcDelta{CPUUser: 8, CPUSys: 16.8, FDs: 818101}, AgentsCPU: 31, MachineCPU: 100, Echoes: 700000, ModelCPUBusy: 61.5, ModelCPUSoftirq: 3.1, ModelWait: 20.3, Others: []results.ProcCPU{{PID: 1, Comm: "process_api", CPU: 40}}},
					Offered:      1000000,
					Open:         818997,
					Sustained:    150000,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideMachine, mech: results.MechMachineCPU,
			want: []string{"machine limit: unrelated work took at least 0.54 of the model's 1 CPU (a machine limit from 0.50), and the model, at 35 µs of CPU per echo, needed 0.48 CPU for the echoes due where it got 0.40",
				"unrelated work at least 0.54; the busiest other processes on the machine: process_api (pid 1) 0.65 CPU",
				"0.3 of them at a time on average"},
		},
		{
			// forked at 29,383 in run 20261203-135643: its CPU full, the
			// swarm sharing it, kdamond busy elsewhere; c10klab's agents
			// may have taken all the rest, so nothing is shown unrelated.
			name: "c10klab's agents on the model's CPU are no excuse",
			in: Input{Model: "forked", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Second}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{0, 1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 124585}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 600, P99: 1900}},
					StepCost:     results.StepCost{HoldSeconds: 2, Model: results.ProcDelta{CPUUser: 0.3, CPUSys: 0.807, FDs: 29383 + 8}, AgentsCPU: 1.69, RunnerCPU: 0.18, MachineCPU: 2.71, Echoes: 41408, ModelCPUBusy: 1.99, ModelCPUSoftirq: 0.37, ModelWait: 66877, Others: []results.ProcCPU{{PID: 83, Comm: "kdamond.0", CPU: 1.03}, {PID: 2, Comm: "c10klab" + results.RunnerMark, CPU: 0.18}, {PID: 9614, Comm: "kworker/1:2-events_freezable", CPU: 0.49}}},
					Offered:      29383,
					Open:         29383,
					Sustained:    13286,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideServer, mech: results.MechCPU,
			want: []string{"server: deadline ×124585",
				"the rest 0.26 — c10klab's agents and runner up to 0.26 of it (they used 0.84 and 0.09 CPU in all), unrelated work at least 0.00",
				"kdamond.0 (pid 83) 0.52 CPU, kworker/1:2-events_freezable (pid 9614) 0.24 CPU"},
		},
		{
			// The same, but its threads never queued for the CPU: it was
			// slow by itself (blocked, or idle), whatever else ran.
			name: "another process on the model's CPU, the model not waiting",
			in: Input{Model: "goroutine", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Minute}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 600000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 262, P99: 31000}},
					StepCost:     results.StepCost{HoldSeconds: 62, Model: results.ProcDelta{CPUUser: 9.2, CPUSys: 24.9, FDs: 818101}, AgentsCPU: 31, MachineCPU: 100, Echoes: 700000, ModelCPUBusy: 61.5, ModelCPUSoftirq: 13.6, ModelWait: 0.4, Others: []results.ProcCPU{{PID: 1, Comm: "process_api", CPU: 26}}},
					Offered:      1000000,
					Open:         818997,
					Sustained:    150000,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideServer, mech: results.MechSlow,
			want: []string{"server: deadline ×600000", "unrelated work at least 0.22"},
		},
		{
			// Its CPU full of the softirqs that deliver its packets: the
			// model's own cost, on loopback.
			name: "softirqs fill the model's CPU",
			in: Input{Model: "epoll", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Second}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 40000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 300, P99: 1500}},
					StepCost:     results.StepCost{HoldSeconds: 4, Model: results.ProcDelta{CPUUser: 0.8, CPUSys: 1.6, FDs: 100008}, AgentsCPU: 3, MachineCPU: 7.2, Echoes: 300000, ModelCPUBusy: 3.9, ModelCPUSoftirq: 1.4},
					Offered:      100000,
					Open:         100000,
					Sustained:    60000,
					Why:          results.WhyLatency,
				})}},
			side: results.SideServer, mech: results.MechCPU,
			want: []string{"server: deadline ×40000", "the model's CPU (0) was full (0.97 of 1 busy): the model 0.60, the softirqs delivering its traffic 0.35, the rest 0.02"},
		},
		{
			name: "tasks stalled on memory",
			in: Input{Model: "goroutine", Env: env, Stop: results.StopNotSustained, Samples: []results.Sample{idle},
				Config: results.Config{Messages: results.Messages{Interval: time.Minute}, Instances: results.Instances{ModelCPUs: []int{0}, SwarmCPUs: []int{1}}, Judging: results.Judging{SustainRatio: 0.95}},
				Steps: []results.Step{failed(results.Step{
					StepFailures: results.StepFailures{Failures: map[string]int64{"deadline": 320000}},
					StepTiming:   results.StepTiming{Latency: results.Percentiles{Count: 10, P50: 262, P99: 31000}},
					StepCost:     results.StepCost{HoldSeconds: 61, Model: results.ProcDelta{CPUUser: 20, CPUSys: 21.5, FDs: 1000101}, AgentsCPU: 30, MachineCPU: 90, MemStall: 18.3, Echoes: 700000},
					Offered:      1000000,
					Open:         1000000,
					Sustained:    680067,
					Why:          results.WhyTooFew,
				})}},
			side: results.SideServer, mech: results.MechSlow,
			want: []string{"tasks waited on memory 30% of the window (18.3 s of 61 s, /proc/pressure/memory)"},
		},
		{
			name: "memory guard",
			in: Input{Model: "forked", Stop: results.StopGuard, StopDetail: "memory limit 2048 MiB: 1 process(es) OOM-killed",
				Guard: &results.Event{Kind: results.EventGuard, Mechanism: results.MechGuardMemory},
				Steps: []results.Step{ok(1000)}},
			side: results.SideMachine, mech: results.MechGuardMemory,
			want: []string{"resource guard", "OOM-killed"},
		},
		{
			name: "interrupted",
			in: Input{Model: "epoll", Stop: results.StopInterrupted, Capacity: 1000,
				Steps: []results.Step{ok(1000), {Index: 1, Offered: 5000, Cut: true}}},
			side: results.SideRunner, mech: results.MechInterrupted,
			want: []string{"interrupted by the user", "not counted against the model"},
		},
		{
			name: "never ready",
			in:   Input{Model: "noaccept", Stop: results.StopError, StopDetail: "model never became ready: the model does not accept() or does not echo"},
			side: results.SideServer, mech: results.MechNotMeasurable,
			want: []string{"could not be measured", "does not accept()"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Config.SustainRatio == 0 {
				tc.in.Config = cfg
			}
			got := Diagnose(tc.in)
			if got.Cause.Side != tc.side || got.Cause.Mechanism != tc.mech {
				t.Errorf("cause %q / %q, want %q / %q (%s)", got.Cause.Side, got.Cause.Mechanism, tc.side, tc.mech, got.Sentence)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Sentence, w) {
					t.Errorf("sentence %q lacks %q", got.Sentence, w)
				}
			}
		})
	}
}
