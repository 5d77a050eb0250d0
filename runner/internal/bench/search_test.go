package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/results"
)

// ok, failed and swarm are judged steps as the search sees them.
func ok(n int) results.Step { return results.Step{Offered: n, Sustained: n, OK: true, Window: true} }
func failed(n int) results.Step {
	return results.Step{Offered: n, Sustained: n / 2, Why: results.WhyTooFew, Window: true}
}

// collapsed served none of its offer; busy held n using cpu of its CPUs.
func collapsed(n int) results.Step {
	return results.Step{Offered: n, Why: results.WhyTooFew, Window: true}
}
func cpuBound(st results.Step) results.Step {
	st.HoldSeconds, st.Model.CPUUser = 2, 1.9
	return st
}
func capped1300(n int) results.Step {
	return results.Step{Offered: n, Sustained: 1300, Why: results.WhyTooFew, Window: true}
}
func busy(n int, cpu float64) results.Step {
	st := ok(n)
	st.HoldSeconds, st.Model.CPUUser = 2, 2*cpu
	return st
}
func swarmStep(n int) results.Step {
	return results.Step{StepTrust: results.StepTrust{Untrusted: "the swarm fell 900ms behind its send schedule", UntrustedBy: results.MechSwarmLag}, Offered: n, Why: results.WhyTooFew, Window: true}
}

func TestNextOffer(t *testing.T) {
	plan := []int{1000, 4000, 16000, 64000}
	lim := searchLimits{plan: plan, resolution: 0.10, top: 128000, topEnd: results.SearchCeiling, topWhy: "the run's ceiling of 128000"}
	cpu1 := lim
	cpu1.cpus = 1
	capped := lim
	capped.capacity, capped.capWhy = 29000, "the guard's task limit"
	for _, tc := range []struct {
		name  string
		lim   searchLimits
		steps []results.Step
		next  int
		end   results.SearchEnd // when it stops
	}{
		{"first step", lim, nil, 1000, ""},
		{"up the plan while it holds", lim, []results.Step{ok(1000), ok(4000)}, 16000, ""},
		{"doubles past the plan", lim, []results.Step{ok(1000), ok(4000), ok(16000), ok(64000)}, 128000, ""},
		{"stops at the run's ceiling", lim, []results.Step{ok(64000), ok(128000)}, 0, results.SearchCeiling},
		// failed(n) served n/2 on time: the next probe is there.
		{"probes where the failed step served", lim, []results.Step{ok(1000), ok(4000), ok(16000), failed(64000)}, 32000, ""},
		{"probes where a failed probe served", lim, []results.Step{ok(16000), failed(64000), failed(40000)}, 20000, ""},
		{"bisects after a collapse, with nothing to project from", lim, []results.Step{ok(16000), collapsed(64000)}, 40000, ""},
		{"projects the CPU after a collapse with the CPU full", cpu1, []results.Step{busy(16000, 0.4), cpuBound(collapsed(64000))}, 36000, ""},
		{"keeps a projection inside the bracket", cpu1, []results.Step{busy(40000, 0.3), cpuBound(collapsed(64000))}, 62000, ""},
		{"no projection from a step that used little CPU", cpu1, []results.Step{busy(16000, 0.1), cpuBound(collapsed(64000))}, 40000, ""},
		{"no projection when the CPU was not full", cpu1, []results.Step{busy(16000, 0.4), collapsed(64000)}, 40000, ""},
		// capk: it holds 1,300 whatever is offered.
		{"probes just above a cap", cpu1, []results.Step{ok(1000), capped1300(2000), ok(1300)}, 1430, ""},
		{"a cap closes in one more probe", cpu1, []results.Step{ok(1000), capped1300(2000), ok(1300), capped1300(1430)}, 0, results.SearchBracketed},
		{"bisects up after a sustained probe", lim, []results.Step{ok(16000), failed(64000), ok(40000)}, 52000, ""},
		{"stops within 10%", lim, []results.Step{ok(16000), failed(64000), ok(40000), failed(43000)}, 0, results.SearchBracketed},
		{"gap of 10% is closed", lim, []results.Step{ok(1000), failed(1100)}, 0, results.SearchBracketed},
		{"gap just over 10% is not", lim, []results.Step{ok(1000), failed(1101)}, 1050, ""},
		{"halves below a failed first step", lim, []results.Step{failed(1000)}, 500, ""},
		{"finds a capacity of one", lim, []results.Step{failed(1000), failed(500), failed(250), failed(125), failed(62), failed(31), failed(15), failed(7), failed(3), ok(1), failed(2)}, 0, results.SearchBracketed},
		{"bisects below an untrusted step", lim, []results.Step{ok(16000), swarmStep(64000)}, 40000, ""},
		{"names the swarm when it closes on it", lim, []results.Step{ok(16000), swarmStep(64000), ok(40000), ok(52000), ok(58000), swarmStep(61000)}, 0, results.SearchSwarm},
		{"a failure below the swarm's limit closes on the model", lim, []results.Step{ok(16000), swarmStep(64000), failed(40000), ok(37000)}, 0, results.SearchBracketed},
		{"noise below the sustained count is ignored", lim, []results.Step{ok(1000), failed(4000), ok(2500), failed(2000)}, 3300, ""},
		// py-gevent in run 20261203-163246: a collapse on the way up that
		// the fresh model's steps below then contradict.
		{"measures a contradicted collapse again", lim, []results.Step{ok(1000), collapsed(4000), ok(1800), ok(3000), ok(3740)}, 4000, ""},
		{"a collapse that repeats closes", lim, []results.Step{ok(1000), collapsed(4000), ok(1800), ok(3000), ok(3740), collapsed(4000)}, 0, results.SearchBracketed},
		{"a collapse that does not repeat opens the bracket", lim, []results.Step{ok(1000), collapsed(4000), ok(1800), ok(3000), ok(3740), ok(4000)}, 16000, ""},
		{"raises no further than the machine allows", capped, []results.Step{ok(1000), ok(4000), ok(16000)}, 29000, ""},
		{"stops near the machine's limit", capped, []results.Step{ok(16000), ok(28000)}, 0, results.SearchMachine},
		{"bisects no higher than the machine allows", capped, []results.Step{ok(16000), failed(64000)}, 29000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := nextOffer(tc.steps, tc.lim)
			if d.next != tc.next || d.end != tc.end {
				t.Fatalf("nextOffer = %d %q (%s), want %d %q", d.next, d.end, d.why, tc.next, tc.end)
			}
			if d.next == 0 && d.why == "" {
				t.Errorf("stopped (%s) without saying why", d.end)
			}
			if d.end == results.SearchSwarm && !strings.Contains(d.why, "behind its send schedule") {
				t.Errorf("the swarm's limit without the untrusted step's reason: %s", d.why)
			}
		})
	}
}

// agents adds the swarm's agents' CPU over a step's window to st.
func agents(st results.Step, cpu float64) results.Step {
	st.HoldSeconds, st.AgentsCPU = 2, 2*cpu
	return st
}

// TestNextOfferByEvidence: the steps a search takes once the CPU of the
// model (one CPU) and of the swarm (the machine has two) is in its
// evidence.
func TestNextOfferByEvidence(t *testing.T) {
	lim := searchLimits{plan: []int{1000, 4000, 16000, 48000}, resolution: 0.10, top: 96000, topEnd: results.SearchCeiling, topWhy: "the run's ceiling", cpus: 1, machineCPUs: 2}
	for _, tc := range []struct {
		name  string
		steps []results.Step
		next  int
		end   results.SearchEnd
	}{
		// c-epoll's figures in run 20261203-135643: the model 0.12 and
		// 0.35 CPU, the agents 0.26 and 0.48, at 4,000 and 16,000. The
		// line through the two together reaches 1.8 of 2 at 41,866, short
		// of the plan's 48,000: the climb goes there, but at most to twice
		// the count.
		{"climbs toward where the model and the swarm fill the machine, at most twice the count",
			[]results.Step{ok(1000), agents(busy(4000, 0.12), 0.26), agents(busy(16000, 0.35), 0.48)}, 32000, ""},
		{"climbs to where the model and the swarm fill the machine, never past it",
			[]results.Step{ok(1000), agents(busy(4000, 0.12), 0.26), agents(busy(16000, 0.35), 0.48), agents(busy(32000, 0.6), 0.8)}, 43200, ""},
		// epoll in run 20261203-155834: projected 43,200 from 16,000 and
		// 35,200, 1.23 times, and collapsed there. The model and the
		// agents used 1.58 of 2 at 35,200: a fifth up (climbRoomy), where
		// a collapse costs a probe below it.
		{"a fifth up when the projection is within 1.3 times and the machine under 1.6 of 2",
			[]results.Step{agents(busy(16000, 0.5), 0.55), agents(busy(32000, 0.82), 0.82), agents(busy(35200, 0.77), 0.81)}, 42200, ""},
		{"a resolution up when the projection is within 1.3 times and the machine at 1.6 of 2",
			[]results.Step{agents(busy(16000, 0.5), 0.55), agents(busy(32000, 0.82), 0.82), agents(busy(35200, 0.79), 0.84)}, 38700, ""},
		// gnet in run 20261203-163812: its CPU 0.64 and 0.85 at 8,000 and
		// 13,700, the agents 0.38 and 0.44; it held 21,800 at 0.92. The
		// plan's 16,000 is within the fifth; past it, a fifth.
		{"a fifth up when the projection is within 1.3 times but the machine has room",
			[]results.Step{agents(busy(8000, 0.64), 0.38), agents(busy(13700, 0.85), 0.44)}, 16000, ""},
		{"a fifth up past the plan",
			[]results.Step{agents(busy(8000, 0.64), 0.38), agents(busy(16000, 0.86), 0.45), agents(busy(19200, 0.87), 0.5)}, 23000, ""},
		{"one probe closes after a failure a fifth up",
			[]results.Step{agents(busy(8000, 0.64), 0.38), agents(busy(16000, 0.86), 0.45), agents(busy(19200, 0.87), 0.5), collapsed(23000)}, 21000, ""},
		{"a planned step within a resolution is passed over",
			[]results.Step{ok(16000), ok(45800)}, 91600, ""},
		// c-epoll in run 20261203-155834: the agents' 0.45 CPU at 1,000
		// projected through nothing put the next step at 2,000.
		{"no projection of the swarm's CPU from one step",
			[]results.Step{agents(busy(1000, 0.06), 0.45)}, 4000, ""},
		// c-epoll in run 20261203-154530: projected 54,100 from 16,000 and
		// 48,000, collapsed there, and the probe below it did not fit the
		// budget. A resolution up closes the bracket either way.
		{"a resolution up when the projection is within two",
			[]results.Step{agents(busy(16000, 0.36), 0.44), agents(busy(48000, 0.77), 0.87)}, 52800, ""},
		{"climbs to where the model's CPU fills",
			[]results.Step{ok(1000), agents(busy(4000, 0.2), 0.25), agents(busy(16000, 0.7), 0.35)}, 20800, ""},
		{"the plan's step when both project past it",
			[]results.Step{agents(busy(4000, 0.05), 0.25), agents(busy(16000, 0.2), 0.3)}, 48000, ""},
		{"no projection from fixed costs alone",
			[]results.Step{agents(busy(1000, 0.03), 0.3), agents(busy(4000, 0.1), 0.2)}, 16000, ""},
		{"a resolution up when the CPU is full already, so a failure closes",
			[]results.Step{agents(busy(16000, 0.5), 0.4), agents(busy(40000, 0.95), 0.8)}, 44000, ""},
		{"a failure a resolution up closes the bracket",
			[]results.Step{agents(busy(16000, 0.5), 0.4), agents(busy(40000, 0.95), 0.8), collapsed(44000)}, 0, results.SearchBracketed},
		// epoll in run 20261203-214200: 1.44 and 1.51 of 2 at 32,000 and
		// 48,000, which projected 114,000; the doubling to 95,600 was the
		// swarm's collapse.
		{"past the plan, a fifth up at most when the machine is busy",
			[]results.Step{agents(busy(32000, 0.73), 0.71), agents(busy(48000, 0.77), 0.74)}, 57600, ""},
		{"past the plan, twice the count when the machine is free",
			[]results.Step{agents(busy(32000, 0.4), 0.4), agents(busy(48000, 0.5), 0.5)}, 96000, ""},
		{"past the plan, a resolution up when the machine is full",
			[]results.Step{agents(busy(16000, 0.35), 0.48), agents(busy(48000, 0.78), 0.99)}, 52800, ""},
		{"the swarm's limit a resolution up ends the search",
			[]results.Step{agents(busy(16000, 0.35), 0.48), agents(busy(48000, 0.78), 0.99), swarmStep(52800)}, 0, results.SearchSwarm},
		// The line through 0.6 at 16,000 and 1.2 at 32,000 reaches 1.8 at
		// about 48,000.
		{"below an untrusted step: where the model and the swarm fill the machine",
			[]results.Step{agents(busy(16000, 0.35), 0.25), agents(busy(32000, 0.6), 0.6), swarmStep(64000)}, 48000, ""},
		// Sustained at 43,800, 48,000 is within 10%; failed, 40,000 is.
		{"one probe that closes either way",
			[]results.Step{ok(16000), ok(40000), collapsed(48000)}, 43800, ""},
		{"a probe that closes either way, below a cap",
			[]results.Step{ok(1000), capped1300(1200)}, 1100, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := nextOffer(tc.steps, lim)
			if d.next != tc.next || d.end != tc.end {
				t.Fatalf("nextOffer = %d %q (%s), want %d %q", d.next, d.end, d.why, tc.next, tc.end)
			}
		})
	}
}

func TestReadable(t *testing.T) {
	for _, tc := range []struct{ x, lo, hi, want int }{
		{52813, 48001, 52800, 52800},
		{38812, 1, 100000, 38800},
		{1100, 1001, 1100, 1100},
		{205, 188, 205, 205},
		{999, 1, 999, 999},
		{44049, 43700, 44000, 44000},
		{7, 7, 7, 7},
	} {
		if got := readable(tc.x, tc.lo, tc.hi); got != tc.want {
			t.Errorf("readable(%d, %d, %d) = %d, want %d", tc.x, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestBudgetEnd(t *testing.T) {
	end, why := budgetEnd([]results.Step{ok(48000), swarmStep(96000)}, "44s of the 40s budget spent")
	if end != results.SearchSwarm || !strings.Contains(why, "96000") || !strings.Contains(why, "budget spent") {
		t.Errorf("an untrusted upper side: %q (%s), want the swarm's limit at 96000 and the budget", end, why)
	}
	end, _ = budgetEnd([]results.Step{ok(16000), failed(48000), swarmStep(96000)}, "spent")
	if end != results.SearchBudget {
		t.Errorf("a failure above: %q, want %q", end, results.SearchBudget)
	}
}

func TestNextOfferNeverRepeatsAStep(t *testing.T) {
	lim := searchLimits{plan: []int{1000}, resolution: 0.10, top: 2000}
	cut := results.Step{Offered: 1500, Cut: true, Why: results.WhyCut}
	// A cut step (neither sustained nor failed) would be chosen again: the
	// collapse at 2,000 leaves the middle, 1,500, where it was cut.
	d := nextOffer([]results.Step{ok(1000), collapsed(2000), cut}, lim)
	if d.next != 0 || d.end != results.SearchEnded {
		t.Fatalf("nextOffer = %+v, want a stop rather than 1500 again", d)
	}
}

func TestBetween(t *testing.T) {
	for _, tc := range []struct{ lo, hi, want int }{
		{16000, 64000, 40000},
		{40000, 64000, 52000},
		{1000, 1101, 1050},
		{1250, 1375, 1310},
		{0, 1000, 500},
		{1, 3, 2},
		{27500, 30000, 28800},
	} {
		got := between(tc.lo, tc.hi)
		if got != tc.want || got <= tc.lo || got >= tc.hi {
			t.Errorf("between(%d, %d) = %d, want %d", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestMachineCapacity(t *testing.T) {
	idle := results.Proc{Procs: 1, Threads: 5}
	for _, tc := range []struct {
		name        string
		st          results.Step
		tasks, free int64
		want        int
		says        string
	}{
		{"a thread per connection meets the task limit",
			results.Step{StepCost: results.StepCost{Model: results.ProcDelta{Threads: 10005}, UserMem: 10000 << 10}, Sustained: 10000}, 29000, 1 << 40, 28995, "task limit"},
		{"an event loop's memory", results.Step{StepCost: results.StepCost{Model: results.ProcDelta{Threads: 6}, UserMem: 5000 << 10, KernelMem: 5000 << 10}, Sustained: 10000}, 29000, 1 << 30, 10000 + 1<<30/(1<<10), "memory"},
		{"nothing in sight without limits", results.Step{StepCost: results.StepCost{Model: results.ProcDelta{Threads: 10005}}, Sustained: 10000}, 0, 0, 0, ""},
		{"nothing sustained", results.Step{}, 29000, 1 << 30, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := machineCapacity(tc.st, idle, tc.tasks, tc.free)
			if got != tc.want || !strings.Contains(why, tc.says) {
				t.Errorf("machineCapacity = %d (%s), want %d (%s)", got, why, tc.want, tc.says)
			}
		})
	}
}

// held is a sustained step of a default run as its record has it: n
// offered and held, the model's and the agents' CPU over a 2 s window,
// and what the step took from its start to its record.
func held(n int, model, agentsCPU float64, took time.Duration) results.Step {
	st := agents(busy(n, model), agentsCPU)
	st.Start = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	st.End = st.Start.Add(took)
	return st
}

// TestNextOfferReplay feeds nextOffer the steps of models in the default
// run 20261203-172047 (the model, its agents, each step's time, from
// steps-*.csv) up to where a rule decides otherwise than that run did.
func TestNextOfferReplay(t *testing.T) {
	lim := searchLimits{plan: []int{1000, 4000, 16000, 48000}, resolution: 0.10, top: 96000, topEnd: results.SearchCeiling, topWhy: "the run's ceiling", cpus: 1, machineCPUs: 2}
	budgeted := func(left time.Duration) searchLimits { l := lim; l.left = left; return l }
	s := time.Second
	gnet := []results.Step{held(1000, 0.16, 0.27, 4*s), held(4000, 0.50, 0.29, 4*s), held(7520, 0.60, 0.35, 3*s), held(16000, 0.95, 0.55, 5*s)}
	rustTokio := []results.Step{held(1000, 0.05, 0.33, 4*s), held(4000, 0.15, 0.26, 4*s), held(16000, 0.49, 0.51, 5*s), held(30500, 0.70, 0.72, 5*s),
		held(43100, 0.76, 0.77, 5*s), held(48000, 0.78, 0.94, 5*s), held(52800, 0.87, 1.01, 7*s)}
	epoll := []results.Step{held(1000, 0.08, 0.36, 4*s), held(4000, 0.20, 0.32, 4*s), held(16000, 0.54, 0.59, 5*s), held(28900, 0.84, 0.86, 5*s),
		held(31700, 0.82, 0.84, 4*s), held(34800, 0.85, 1.03, 5*s)}
	pyAsyncio := []results.Step{held(1000, 0.11, 0.38, 4*s), held(4000, 0.26, 0.29, 4*s), held(16000, 0.62, 0.56, 5*s), held(25100, 0.70, 0.63, 4*s), held(48000, 0.92, 0.98, 10*s)}
	netpoll := []results.Step{held(1000, 0.16, 0.29, 4*s), held(4000, 0.46, 0.30, 4*s), held(8000, 0.70, 0.35, 4*s), held(11300, 0.72, 0.42, 4*s),
		held(16000, 0.80, 0.48, 4*s), held(23200, 0.73, 0.67, 4*s)}
	// py-asyncio in run 20261203-183802 (this rule's first subset run).
	pyAsyncio2 := []results.Step{held(1000, 0.08, 0.30, 4*s), held(4000, 0.25, 0.27, 4*s), held(8000, 0.30, 0.30, 4*s), held(16000, 0.85, 0.40, 4*s),
		held(19200, 0.92, 0.39, 4*s), held(23000, 0.97, 0.45, 4*s), held(27600, 0.93, 0.57, 4*s)}
	// py-forking served 200 of 280 on time (its 40 children × 5 instances).
	pyForking := []results.Step{ok(200), {Offered: 280, Sustained: 200, Why: results.WhyTooFew, Window: true}}
	for _, tc := range []struct {
		name  string
		lim   searchLimits
		steps []results.Step
		next  int // that run offered
		end   results.SearchEnd
		says  string
	}{
		// It offered 4,000: 4 s for a point the line from 16,000 does not need.
		{"c-epoll: the step at 4,000 is passed over", lim, []results.Step{held(1000, 0.05, 0.35, 4*s)}, 16000, "", ""},
		// 0.06 at 1,000 reaches 0.9 at 15,000, short of 16,000.
		{"c-uring: no planned step passed over", lim, []results.Step{held(1000, 0.06, 0.34, 4*s)}, 4000, "", ""},
		// The model and the agents 1.50 of 2: it offered 17,600, then
		// climbed 21,100, 25,300, 27,800, 30,500 and spent its budget.
		{"gnet: a fifth up with the machine under 1.6 of 2", lim, gnet, 19200, "", ""},
		// 21 s left of 40: a failure a fifth up (8 s) and a probe (10 s) fit.
		{"gnet: a fifth up when the budget pays for its failure and a probe", budgeted(21 * s), gnet, 19200, "", ""},
		// 11.6 s left of 41: it went a fifth up, to 33,100, failed, and
		// the probe below did not fit.
		{"py-asyncio: a tenth up when the budget cannot pay for a fifth's probe", budgeted(11600 * time.Millisecond), pyAsyncio2, 30300, "", ""},
		{"py-asyncio: a fifth up without a budget", lim, pyAsyncio2, 33100, "", ""},
		// 15 s left of 40: it went to 41,200, failed, and the probe did not fit.
		{"netpoll: a tenth up, not to the projection, when a probe would not fit", budgeted(15 * s), netpoll, 25500, "", ""},
		// 41,200 from the record's unrounded figures.
		{"netpoll: to the projection with room for a probe", budgeted(30 * s), netpoll, 41500, "", ""},
		// 1.66 of 2 at 31,700: it held 34,800 a tenth up.
		{"epoll: a tenth up with the machine at 1.6 of 2 or more", lim, epoll[:5], 34800, "", ""},
		// c-uring at 48,000, 1.79 of 2: it held 52,800.
		{"c-uring: the climb goes on under 1.85 of 2", lim, []results.Step{held(16000, 0.40, 0.49, 5*s), held(32000, 0.75, 0.83, 5*s), held(48000, 0.82, 0.97, 5*s)}, 52800, "", ""},
		// It offered 58,000, which did not fit its budget.
		{"rust-tokio: the machine full with the model's CPU not", lim, rustTokio, 0, results.SearchMachine, "1.88 of the machine's 2 CPUs at 52800"},
		{"rust-tokio: 1.72 of 2 at 48,000 climbs on", lim, rustTokio[:6], 52800, "", ""},
		// It offered 38,200, which collapsed.
		{"epoll: the machine full with the model's CPU not", lim, epoll, 0, results.SearchMachine, "the model 0.85 of its 1"},
		// Its own CPU 0.92 full: no excuse; it climbed to the swarm's limit.
		{"py-asyncio: the machine full with the model's CPU too climbs on", lim, pyAsyncio, 52800, "", ""},
		// It offered 221, failed there, and spent its budget with 200-221 open.
		{"py-forking: just above a cap, within the resolution", lim, pyForking, 220, "", ""},
		{"py-forking: a failure there closes the bracket", lim, append(slices.Clone(pyForking), results.Step{Offered: 220, Sustained: 194, Why: results.WhyTooFew, Window: true}), 0, results.SearchBracketed, "200 sustained, 220 failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := nextOffer(tc.steps, tc.lim)
			if d.next != tc.next || d.end != tc.end || !strings.Contains(d.why, tc.says) {
				t.Fatalf("nextOffer = %d %q (%s), want %d %q (%s)", d.next, d.end, d.why, tc.next, tc.end, tc.says)
			}
		})
	}
}
