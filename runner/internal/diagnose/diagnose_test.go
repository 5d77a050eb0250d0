package diagnose

import (
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

func TestDiagnose(t *testing.T) {
	env := results.Environment{CPUs: 2, Limits: []results.Limit{
		{Name: "open files (soft)", Value: "20000"},
		{Name: "kernel.pid_max", Value: "32768"},
	}}
	ok := func(offered int) results.Step {
		return results.Step{Offered: offered, Open: offered, Sustained: offered, OK: true}
	}
	tests := []struct {
		name string
		in   Input
		side string
		want []string
	}{
		{
			name: "target reached",
			in:   Input{Model: "epoll", Steps: []results.Step{ok(100), ok(200)}, Stop: results.StopTarget},
			side: "none",
			want: []string{"no failure", "200 connections", "target reached"},
		},
		{
			name: "accept EMFILE",
			in: Input{Model: "epoll", Instances: 1, Env: env, Stop: results.StopNotSustained,
				Steps: []results.Step{ok(19000), {Index: 1, Offered: 25000, Open: 24085, Sustained: 19988,
					Failures: map[string]int64{"deadline": 900}}},
				Reports: []results.ServerReport{{Kind: "accept", Errno: "EMFILE", Count: 105, Conns: 19988}}},
			side: "server",
			want: []string{"accept() failed with EMFILE", "19,988 connections", "open-files limit 20000"},
		},
		{
			name: "fork cap and listen queue",
			in: Input{Model: "forked-seed", Stop: results.StopNotSustained, SustainRatio: 0.95,
				Steps: []results.Step{ok(20), {Index: 1, Offered: 100, Open: 100, Sustained: 40,
					Model:    results.Proc{Procs: 41},
					Failures: map[string]int64{"deadline": 657},
					Counters: map[string]int64{"TcpExt.ListenOverflows": 501}}},
				Reports: []results.ServerReport{{Kind: "fork_cap", Count: 1, Conns: 40}}},
			side: "server",
			want: []string{"cap of 40 children", "41 server processes", "overflowed 501 times"},
		},
		{
			name: "thread creation aborts the model",
			in: Input{Model: "threaded", Env: env, Stop: results.StopExited,
				StopDetail: "instance 0 (pid 7) exited: exit status 2; stderr: runtime: failed to create new OS thread (have 32700 already; errno=11)",
				Steps:      []results.Step{ok(20000), {Index: 1, Offered: 40000, Sustained: 30000}}},
			side: "server",
			want: []string{"could not create an OS thread", "EAGAIN", "kernel.pid_max 32768"},
		},
		{
			name: "clients out of descriptors are the swarm's failure",
			in: Input{Model: "epoll", Stop: results.StopNotSustained,
				Steps: []results.Step{{Offered: 1000, Open: 500, Sustained: 500,
					ClientFailures: map[string]int64{"socket:EMFILE": 500}}}},
			side: "swarm",
			want: []string{"clients ran out of their own resources", "socket:EMFILE", "not the model's"},
		},
		{
			name: "resets seen by the clients",
			in: Input{Model: "rst", Stop: results.StopNotSustained,
				Steps: []results.Step{{Offered: 300, Open: 0, Sustained: 0,
					Failures: map[string]int64{"read:ECONNRESET": 300},
					Counters: map[string]int64{"Tcp.EstabResets": 300}}}},
			side: "clients",
			want: []string{"read:ECONNRESET ×300", "300 resets"},
		},
		{
			name: "CPU saturated",
			in: Input{Model: "threaded", Stop: results.StopNotSustained, ModelCPUs: 1,
				Steps: []results.Step{{Offered: 15000, Open: 15000, Sustained: 10000, HoldSeconds: 5,
					Model:    results.Proc{CPUUser: 1, CPUSys: 3.9},
					Failures: map[string]int64{"deadline": 9000}, Latency: results.Percentiles{Count: 10, P50: 300, P99: 3300}}}},
			side: "clients",
			want: []string{"saturated (98% of 1 CPU)", "p99 3.30 s"},
		},
		{
			name: "memory guard",
			in: Input{Model: "forked", Stop: results.StopGuard, StopDetail: "memory limit 2048 MiB: 1 process(es) OOM-killed",
				Steps: []results.Step{ok(1000)}},
			side: "server",
			want: []string{"resource guard", "OOM-killed"},
		},
		{
			name: "never ready",
			in:   Input{Model: "noaccept", Stop: results.StopError, StopDetail: "model never became ready: the model does not accept() or does not echo"},
			side: "server",
			want: []string{"could not be measured", "does not accept()"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.SustainRatio == 0 {
				tc.in.SustainRatio = 0.95
			}
			got := Diagnose(tc.in)
			if got.Side != tc.side {
				t.Errorf("side %q, want %q (%s)", got.Side, tc.side, got.Sentence)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Sentence, w) {
					t.Errorf("sentence %q lacks %q", got.Sentence, w)
				}
			}
		})
	}
}

func TestFormatCounts(t *testing.T) {
	got := FormatCounts(map[string]int64{"read:EOF": 3, "connect:ETIMEDOUT": 120, "deadline": 3})
	want := "connect:ETIMEDOUT ×120, deadline ×3, read:EOF ×3"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
