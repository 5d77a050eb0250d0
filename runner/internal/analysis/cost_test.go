package analysis

import (
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
	got := RampCost(samples)
	if len(got) != 2 {
		t.Fatalf("RampCost gave %d points, want 2: %+v", len(got), got)
	}
	if p := got[0]; p.Conns != 2000 || !p.HasKernel || p.Kernel != 4096 || !p.HasUser || p.User != 512 || p.Rate != 1500 {
		t.Errorf("point at 2,000 = %+v, want 4 KiB kernel, 512 B user, 1,500 opened/s", p)
	}
	if p := got[1]; p.Conns != 4000 || p.HasKernel || p.HasUser || p.Rate != 4000 {
		t.Errorf("point at 4,000 = %+v: a kernel rise under 1 MiB and a PSS below idle must be left out, rate 4,000/s", p)
	}
}
