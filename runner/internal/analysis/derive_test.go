package analysis

import (
	"testing"

	"c10klab/runner/internal/results"
)

func TestRatiosWithoutDivisionByZero(t *testing.T) {
	s := results.Step{StepCost: results.StepCost{UserMem: 4096, KernelMem: 4096, Model: results.ProcDelta{CPUUser: 1}}}
	if _, ok := UserMemPerConn(s); ok {
		t.Error("user memory per connection with nothing sustained")
	}
	if _, ok := KernelMemPerConn(s, nil); ok {
		t.Error("kernel memory per connection with nothing sustained")
	}
	if _, ok := CPUPer1kEchoes(s); ok {
		t.Error("CPU per echo with nothing echoed")
	}
	s.Sustained, s.Echoes = 4, 2000
	if v, _ := UserMemPerConn(s); v != 1024 {
		t.Errorf("user memory per connection = %v, want 1024", v)
	}
	if v, _ := CPUPer1kEchoes(s); v != 0.5 {
		t.Errorf("CPU per 1k echoes = %v, want 0.5", v)
	}
}

func TestSwarmCost(t *testing.T) {
	for _, tc := range []struct {
		name             string
		s                results.Step
		perEcho          float64 // s per 1,000 echoes; 0: none
		model, swarm     float64 // CPUs per connection held
		held, hasPerEcho bool
	}{
		{name: "nothing held", s: results.Step{StepCost: results.StepCost{AgentsCPU: 1, HoldSeconds: 4}}},
		{name: "no window", s: results.Step{StepCost: results.StepCost{Echoes: 400, AgentsCPU: 1}, Open: 100}, perEcho: 2.5, hasPerEcho: true},
		{name: "agents elsewhere", s: results.Step{StepCost: results.StepCost{Echoes: 4000, HoldSeconds: 4, Model: results.ProcDelta{CPUSys: 2}}, Open: 1000}, model: 0.5 / 1000, held: true},
		{name: "both", s: results.Step{StepCost: results.StepCost{Echoes: 8000, HoldSeconds: 4, AgentsCPU: 0.8, Model: results.ProcDelta{CPUUser: 0.4, CPUSys: 0.4}}, Open: 2000},
			perEcho: 0.1, hasPerEcho: true, model: 0.1 / 1000, swarm: 0.1 / 1000, held: true},
	} {
		v, ok := SwarmCPUPer1kEchoes(tc.s)
		if ok != tc.hasPerEcho || !near(v, tc.perEcho) {
			t.Errorf("%s: swarm CPU per 1k echoes = %v, %v; want %v, %v", tc.name, v, ok, tc.perEcho, tc.hasPerEcho)
		}
		m, sw, ok := CPUPerConnHeld(tc.s)
		if ok != tc.held || !near(m, tc.model) || !near(sw, tc.swarm) {
			t.Errorf("%s: CPU per connection held = model %v, swarm %v, %v; want %v, %v, %v", tc.name, m, sw, ok, tc.model, tc.swarm, tc.held)
		}
	}
}
