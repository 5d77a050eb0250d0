package analysis

import (
	"math"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

func TestRampCost(t *testing.T) {
	t0 := time.Unix(0, 0)
	sample := func(sec float64, open int, kernel, pss int64) results.Sample {
		var s results.Sample
		s.Time = t0.Add(time.Duration(sec * float64(time.Second)))
		s.Swarm.Open = open
		s.System.TCPMem = kernel
		s.Model.PSS, s.Model.Procs = pss, 1
		return s
	}
	samples := []results.Sample{
		sample(0, 0, 10<<20, 5<<20),                       // idle
		sample(1, 500, 12<<20, 6<<20),                     // under 1,000: no point
		sample(2, 2000, 10<<20+2000*4096, 5<<20+2000*512), // 4 KiB kernel, 512 B user each
		sample(3, 2000, 30<<20, 9<<20),                    // held still: not a ramp point
		sample(3.5, 4000, 10<<20+100, 4<<20),              // rises below resolution
	}
	// CPU: the model 0.2 s and the agents 0.1 s over the second to 2,000
	// connections; the agents' not sampled at 4,000.
	samples[1].Model.CPUUser, samples[1].Agents = 1, results.Proc{Procs: 1, CPUSys: 2}
	samples[2].Model.CPUUser, samples[2].Agents = 1.2, results.Proc{Procs: 1, CPUSys: 2.1}
	samples[3].Model.CPUUser, samples[3].Agents = 1.3, results.Proc{Procs: 1, CPUSys: 2.2}
	samples[4].Model.CPUUser = 1.3
	got := RampCost(samples)
	if len(got) != 2 {
		t.Fatalf("RampCost gave %d points, want 2: %+v", len(got), got)
	}
	if p := got[0]; p.Conns != 2000 || !p.HasKernel || p.Kernel != 4096 || !p.HasUser || p.User != 512 || p.Rate != 1500 {
		t.Errorf("point at 2,000 = %+v, want 4 KiB kernel, 512 B user, 1,500 opened/s", p)
	}
	if p := got[0]; !near(p.ModelCPU, 0.2/2000) || !p.HasSwarm || !near(p.SwarmCPU, 0.1/2000) {
		t.Errorf("point at 2,000: model %g, swarm %g (%v) CPUs per connection, want %g and %g", p.ModelCPU, p.SwarmCPU, p.HasSwarm, 0.2/2000, 0.1/2000)
	}
	if p := got[1]; p.HasSwarm || p.ModelCPU != 0 {
		t.Errorf("point at 4,000: swarm CPU %g (%v), model %g: agents not sampled have no figure, and the model spent nothing", p.SwarmCPU, p.HasSwarm, p.ModelCPU)
	}
	if p := got[1]; p.Conns != 4000 || p.HasKernel || p.HasUser || p.Rate != 4000 {
		t.Errorf("point at 4,000 = %+v: a kernel rise under 1 MiB and a PSS below idle must be left out, rate 4,000/s", p)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }
