package analysis

import "c10klab/runner/internal/results"

// A CostPoint is what holding Conns connections cost the machine at one
// sample taken while a ramp opened them: memory above the idle sample per
// connection open, and how fast they were opening. The steps' windows give
// the settled figures; these show the way there, from 1,000 up (a ramp
// that doubles, bench --ramp-doubling, puts samples at evenly spaced
// points of a log scale).
type CostPoint struct {
	Conns int // connections the clients held open
	// Kernel: TCP memory plus unreclaimable slab above idle, both ends'
	// sockets, per connection; User: the model's user memory above idle
	// per connection (results.Proc.UserMemory: the cgroup's charge under
	// the guard, else PSS). Each is set only when it can be told from noise (Has*).
	Kernel, User       float64
	HasKernel, HasUser bool
	// Rate is connections opened per second since the previous sample.
	Rate float64
	// ModelCPU and SwarmCPU are the model's and the swarm agents' CPU since
	// the previous sample, in CPUs (seconds a second) per connection open:
	// while ramping, the cost of opening beside that of holding. HasSwarm
	// is false when the agents' CPU was not sampled (agents elsewhere).
	ModelCPU, SwarmCPU float64
	HasSwarm           bool
}

// costFrom is the fewest connections a point is drawn at: below it, a
// sample's kernel counters move by more than the connections cost.
const costFrom = 1000

// RampCost is the cost curve of a model's ramps: one point per sample
// that found more connections open than the sample before it, from
// costFrom up. Samples of a step with hostile connections are left out
// (they cost differently), as is anything after a model stopped: a
// sample whose model holds no process.
func RampCost(samples []results.Sample) []CostPoint {
	if len(samples) == 0 {
		return nil
	}
	idle := samples[0]
	baseKernel := idle.System.TCPMem + idle.System.SUnreclaim
	var out []CostPoint
	for i := 1; i < len(samples); i++ {
		prev, s := samples[i-1], samples[i]
		open := s.Swarm.Open
		dt := s.Time.Sub(prev.Time).Seconds()
		if open <= prev.Swarm.Open || open < costFrom || dt <= 0 || s.Model.Procs == 0 ||
			(s.Swarm.Hostile != nil && s.Swarm.Hostile.Offered > 0) {
			continue
		}
		p := CostPoint{Conns: open, Rate: float64(open-prev.Swarm.Open) / dt}
		p.ModelCPU = max(s.Model.CPU()-prev.Model.CPU(), 0) / dt / float64(open)
		if s.Agents.Procs > 0 && prev.Agents.Procs > 0 {
			p.SwarmCPU, p.HasSwarm = max(s.Agents.CPU()-prev.Agents.CPU(), 0)/dt/float64(open), true
		}
		if rise := s.System.TCPMem + s.System.SUnreclaim - baseKernel; rise > kernelMemFloor {
			p.Kernel, p.HasKernel = float64(rise)/float64(open), true
		}
		if rise := s.Model.UserMemory() - idle.Model.UserMemory(); rise > 0 {
			p.User, p.HasUser = float64(rise)/float64(open), true
		}
		out = append(out, p)
	}
	return out
}

// cpu is a process tree's CPU time, user and system, in seconds.
