package results

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// topKeys returns the keys of a JSON object in the order they appear.
func topKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestConfigJSONKeepsItsKeys: run.json's config, its settings grouped by
// concern in embedded structs, has the keys it always had, in their order.
func TestConfigJSONKeepsItsKeys(t *testing.T) {
	c := Config{
		Models:        []string{"epoll"},
		StepPlan:      StepPlan{Steps: []int{1000}, Rate: 1, RampDoubling: time.Second, Hold: time.Second},
		SearchBounds:  SearchBounds{Search: true, MaxOffered: 2, Budget: time.Second, ShareBudget: true},
		Messages:      Messages{Interval: time.Second, Deadline: time.Second, MsgSize: 16},
		Instances:     Instances{Procs: 1, Pin: true, ModelCPUs: []int{0}, SwarmCPUs: []int{1}},
		Judging:       Judging{SustainRatio: 0.95},
		Addr:          "127.0.0.1:9999",
		ConnsPerAgent: 3,
		Processes:     Processes{Backlog: 5, ModelNoFile: 6, AgentNoFile: 7, ModelEnv: []string{"A=1"}},
		GuardLimits:   GuardLimits{Guard: true, MemLimit: 8, PidsLimit: 9},
		Pacing:        Pacing{Repeat: 2, SettleMax: time.Second},
		HostileSteps:  HostileSteps{Hostile: []string{"slowloris"}, HostileShare: 0.1},
	}
	want := []string{"models", "steps", "rate", "ramp_doubling", "hold", "search", "max_offered", "budget", "share_budget",
		"interval", "deadline", "msg_size", "procs", "pin", "model_cpus", "swarm_cpus", "sustain_ratio", "addr",
		"conns_per_agent", "backlog", "model_nofile", "agent_nofile", "model_env", "guard", "mem_limit", "pids_limit",
		"repeat", "settle_max", "hostile", "hostile_share"}
	if got := topKeys(t, c); !slices.Equal(got, want) {
		t.Errorf("keys\n got %v\nwant %v", got, want)
	}
}

// TestProcSince: a step's model keeps the levels as read at its end and
// counts CPU over its window, and its JSON is a sample's Proc's.
func TestProcSince(t *testing.T) {
	start := Proc{Procs: 1, Threads: 2, FDs: 10, RSS: 100, PSS: 90, CPUUser: 1.5, CPUSys: 2.0, Mem: 80}
	end := Proc{Procs: 3, Threads: 7, FDs: 1010, RSS: 900, PSS: 800, CPUUser: 2.0, CPUSys: 3.25, Mem: 700, NoDetail: true, Unread: 1}
	d := end.Since(start)
	want := ProcDelta{Procs: 3, Threads: 7, FDs: 1010, RSS: 900, PSS: 800, CPUUser: 0.5, CPUSys: 1.25, Mem: 700, NoDetail: true, Unread: 1}
	if d != want {
		t.Errorf("Since = %+v, want %+v", d, want)
	}
	if d.CPU() != 1.75 || d.UserMemory() != 700 {
		t.Errorf("CPU %v, user memory %d; want 1.75, 700", d.CPU(), d.UserMemory())
	}
	if got, want := topKeys(t, d), topKeys(t, end); !slices.Equal(got, want) {
		t.Errorf("ProcDelta keys %v, Proc keys %v", got, want)
	}
}

// TestStepJSONKeepsItsKeys: a step's record, its fields grouped by concern
// in embedded structs, has the keys it always had, in their order.
func TestStepJSONKeepsItsKeys(t *testing.T) {
	p := Percentiles{Count: 1}
	st := Step{Index: 1, Offered: 2, Start: time.Unix(1, 0), End: time.Unix(2, 0), Open: 3, Sustained: 4, OK: true, Cut: true,
		StepFailures: StepFailures{Failures: map[string]int64{"a": 1}, ClientFailures: map[string]int64{"b": 1}, ServerReports: map[string]int64{"c": 1}},
		StepTiming:   StepTiming{Latency: p, RampLatency: p, RampSeconds: 1, SettleSeconds: 1, Settled: true},
		Hostile:      &Hostile{Kind: "reset"}, WindowStart: time.Unix(1, 0), Why: WhyTooFew, Window: true,
		StepCost: StepCost{Echoes: 1, Unstamped: 1, Model: ProcDelta{Procs: 1}, AgentsCPU: 1, MachineCPU: 1, ModelCPUBusy: 1, ModelCPUSoftirq: 1,
			ModelWait: 1, ModelWaitUnread: 1, RunnerCPU: 1, Others: []ProcCPU{{PID: 1}}, MemStall: 1, HoldSeconds: 1, KernelMem: 1, UserMem: 1},
		Counters:   map[string]int64{"d": 1},
		StepTrust:  StepTrust{LagMaxMs: 1, RampPauses: 1, Unattempted: 1, Untrusted: "x", UntrustedBy: MechSwarmLag},
		StepSearch: StepSearch{Search: true, Fresh: true},
	}
	want := []string{"index", "offered", "start", "end", "open", "sustained", "ok", "cut", "failures", "client_failures",
		"server_reports", "latency", "ramp_latency", "ramp_seconds", "settle_seconds", "settled", "hostile", "window_start",
		"why", "window", "echoes", "unstamped", "model", "agents_cpu", "machine_cpu", "model_cpu_busy", "model_cpu_softirq",
		"model_wait", "model_wait_unread", "runner_cpu", "others", "mem_stall", "hold_seconds", "kernel_mem", "user_mem",
		"counters", "lag_max_ms", "ramp_pauses", "unattempted", "untrusted", "untrusted_by", "search", "fresh"}
	if got := topKeys(t, st); !slices.Equal(got, want) {
		t.Errorf("keys\n got %v\nwant %v", got, want)
	}
}
