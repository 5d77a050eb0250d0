// Package bench runs the comparison: for each model it starts the model
// and a swarm, raises the offered connections step by step, samples every
// second and writes what it measures to the run folder as it goes. It
// prints nothing; callers watch the record stream through Options.Observe.
package bench

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/swarm"
)

// Options is one run's settings. The settings the run record keeps are
// declared once, in results.Config's groups, embedded here; the rest
// (where things are, how agents are placed, what the machine allows) are
// the runner's own. The groups hold, by concern:
//   - StepPlan: Steps, Rate, RampDoubling, Hold
//   - SearchBounds: Search, MaxOffered, Budget
//   - Messages: Interval, Deadline, MsgSize
//   - Instances: Procs, Pin, ModelCPUs, SwarmCPUs
//   - Judging: SustainRatio
//   - Processes: Backlog, ModelNoFile, AgentNoFile, ModelEnv
//   - GuardLimits: Guard, MemLimit, PidsLimit
//   - Pacing: Repeat, SettleMax
//   - HostileSteps: Hostile, HostileShare
//
// Steps are the planned steps: with Search, where the capacity search
// starts (search.go); without, the whole run. Search is off with Hostile
// kinds, whose steps need the last planned step as their baseline.
// MaxOffered is the most connections the search offers, what the model's
// instances and the swarm's agents are sized for before the first step; 0:
// twice the last planned step. The machine's own bounds (Validate's
// arithmetic) may lower it, which the run names. Budget bounds each
// model's measurement from its start: no step starts that would not end
// within it (Estimate's arithmetic), and the search stops with what it
// found, saying so; 0: no budget. With ShareBudget, Budget is each
// model's share of the run's budget: a model gets, when it starts, what
// the run's budget has left over the models left (modelBudget). RampDoubling starts each ramp doubling
// the connections held every this long, from 1,000, until that reaches
// Rate (swarm.Ramp): the once-a-second samples then measure cost at evenly
// spaced points of a log scale; 0: every ramp at Rate from the start.
// ModelCPUs and SwarmCPUs override the split of the CPUs when pinning
// (default: the first CPU for the model, the rest for the swarm). Backlog
// is C10K_BACKLOG for the models (0: each model's default, 4096 or its
// preset's). ModelNoFile and AgentNoFile, when positive, lower the
// open-files limit of each model instance or swarm agent, to provoke those
// limits. Hostile kinds (swarm.HostileKinds) each run as one more step
// after the last: the last step's connections, well-behaved, plus a share
// HostileShare of as many misbehaving ones of that kind.
type Options struct {
	Files
	results.StepPlan
	results.SearchBounds
	results.Messages
	results.Instances
	results.Judging
	results.Processes
	results.GuardLimits
	results.Pacing
	results.HostileSteps

	Specs []model.Spec
	Addr  netip.AddrPort
	// SwarmApart keeps the agents off the model's CPUs even under the
	// guard's cpu cgroup. The cgroup makes the model one scheduling entity
	// of one share; a hundred agents on its CPU have a hundred, and at a
	// million connections the model got a tenth of a CPU while its listen
	// queues overflowed (the scale profile's first runs).
	SwarmApart   bool
	ReadyTimeout time.Duration
	// ConnsPerProcess is how many connections one process (model instance
	// or agent) may hold; 0: the open-files soft limit minus a margin.
	ConnsPerProcess int
	// Conformance runs the quick conformance check before measuring.
	Conformance bool
	// Machine bounds what Validate accepts; nil: read this machine's.
	Machine *Machine
	// Placement is where the agents run; the zero value: on this host.
	Placement Placement

	// Observe, when set, receives every record as it is written, labelled
	// with its model: the terminal's progress is one more consumer.
	Observe func(label string, r results.Record)
}

// Files is where a run finds its models and binaries and writes its
// results, and how it was invoked.
type Files struct {
	ModuleRoot string // where go.mod is; models are built from here
	ModelsDir  string
	BinDir     string
	ResultsDir string
	Exe        string // the c10klab binary (agents run as `Exe agent`)
	Command    []string
}

// Defaults are the settings of `make bench`.
func Defaults() Options {
	return Options{
		// A coarse start (a factor of 4) then the search (search.go).
		// What the budget buys, measured here: a clean step 3-5 s (a
		// ramp of a second or two, a settle of at most a sample, the 2 s
		// hold); a step far past a model's ceiling 9-16 s; a probe below
		// a failure, which restarts the model and ramps from nothing,
		// 7-15 s; a step the swarm cannot ramp (96,000 after 48,000) 18-21
		// s (run 20261203-135643, whose search then doubled past the plan
		// and bisected: most brackets ended "budget spent" at 16k-48k).
		// So the search climbs in cheap steps on the live model, to where
		// the CPU projects the model or the machine full, at least 10% up
		// so that a failure there closes the bracket; the 1,000 and 4,000
		// steps (8 s together) are the two points the projection from
		// 16,000 draws its line through, and catch a model that fails
		// early. A model whose bracket is still open when its budget ends
		// says so ("budget spent").
		//
		// The budget is the run's, shared: 22 models at 40 s each, with
		// a model's start, check and teardown (0.2-4.5 s) on top, took
		// 13.5-14 min in the four default runs of 20261203 because many
		// ended early (py-circuits refused in 1 s, forked bracketed in
		// 25 s) and most left 1-5 s their next step did not fit; shared,
		// what they leave goes to the models after them, and the run
		// takes about its whole budget (RunBound): 38 s a model, 22
		// models, 14 min.
		StepPlan: results.StepPlan{
			Steps: []int{1000, 4000, 16000, 48000},
			Rate:  10000,
			// Interval + deadline: every connection has an echo due in the
			// window (EveryConnectionEchoes), at half the cost of the 4 s
			// hold of the grid-only runs.
			Hold: 2 * time.Second,
		},
		SearchBounds: results.SearchBounds{Search: true, Budget: 38 * time.Second, ShareBudget: true},
		Messages:     results.Messages{Interval: time.Second, Deadline: time.Second, MsgSize: 16},
		Instances:    results.Instances{Pin: true},
		Judging:      results.Judging{SustainRatio: 0.95},
		GuardLimits:  results.GuardLimits{Guard: true},
		Addr:         netip.MustParseAddrPort("127.0.0.1:9999"),
		ReadyTimeout: 10 * time.Second,
		Conformance:  true,
	}
}

// Machine is what this machine allows a run: the bounds Validate holds
// the settings to, read once before anything starts.
type Machine struct {
	// NoFile is the runner's open-files soft limit (already raised to the
	// hard limit by the command line); models and agents inherit it.
	NoFile int
	// Tasks is how many more threads and processes may start: the guard's
	// headroom below kernel.pid_max and kernel.threads-max.
	Tasks int
	CPUs  int
}

// ReadMachine reads this machine's bounds.
func ReadMachine() (Machine, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return Machine{}, fmt.Errorf("read open-files limit: %w", err)
	}
	tasks, err := guard.DefaultPids()
	if err != nil {
		return Machine{}, fmt.Errorf("read task limits: %w", err)
	}
	return Machine{NoFile: int(min(lim.Cur, math.MaxInt32)), Tasks: int(tasks), CPUs: runtime.NumCPU()}, nil
}

// What the runner itself holds per process it starts: a model instance's
// stdout and stderr pipes and its pidfd; an agent's stdin, stdout and
// stderr pipes and its pidfd. (--procs 100000 failed with EMFILE at 6,661
// instances under a 20,000 limit: 3 each.)
const (
	runnerFDsPerInstance = 3
	runnerFDsPerAgent    = 4
)

// maxAgents is how many swarm agents there can be: agent i binds source
// addresses 127.(16+i).x.y, and swarm.AgentConfig.Validate takes indexes
// 0..200.
const maxAgents = 201

// instancesPerCPU bounds --procs beyond what the open-files limit needs:
// instances share the port to spread connections, and hundreds of
// event loops or schedulers per CPU would measure the kernel scheduler,
// not the model.
const instancesPerCPU = 32

// Validate checks the settings before anything starts, against o.Machine
// (this machine's bounds when nil): each flag alone, then what they ask of
// the machine together.
func (o *Options) Validate() error {
	if err := o.validateFlags(); err != nil {
		return err
	}
	m := o.Machine
	if m == nil {
		mm, err := ReadMachine()
		if err != nil {
			return err
		}
		m = &mm
	}
	return o.validateMachine(*m)
}

func (o *Options) validateFlags() error {
	for _, k := range o.Hostile {
		if err := swarm.CheckHostile(k); err != nil {
			return fmt.Errorf("--hostile: %w", err)
		}
	}
	if len(o.Hostile) > 0 && (o.HostileShare <= 0 || o.HostileShare > 1) {
		return fmt.Errorf("--hostile-share %v outside (0, 1]", o.HostileShare)
	}
	switch {
	case len(o.Specs) == 0:
		return fmt.Errorf("no models to run")
	case len(o.Steps) == 0:
		return fmt.Errorf("no steps: give --steps or --target")
	case o.Steps[0] <= 0:
		return fmt.Errorf("--steps %v: offered connections must be positive", o.Steps)
	case o.Rate <= 0:
		return fmt.Errorf("--rate %d must be positive", o.Rate)
	case o.Hold < time.Second:
		return fmt.Errorf("--hold %v: need at least 1s to evaluate a step", o.Hold)
	case o.Interval <= 0:
		return fmt.Errorf("--interval %v must be positive", o.Interval)
	case o.Deadline <= 0 || o.Deadline > o.Interval:
		return fmt.Errorf("--deadline %v must be positive and at most --interval %v", o.Deadline, o.Interval)
	case o.SustainRatio <= 0 || o.SustainRatio > 1:
		return fmt.Errorf("sustain ratio %v outside (0, 1]", o.SustainRatio)
	case !o.Addr.Addr().Is4():
		return fmt.Errorf("address %v: the swarm connects over IPv4 loopback", o.Addr)
	case !o.Placement.AllowsAddr(o.Addr.Addr()):
		return fmt.Errorf("address %v is neither loopback nor the server host of the run's own namespaces: c10klab sends load only there", o.Addr)
	case o.Procs < 0:
		return fmt.Errorf("--procs %d: give a number of model instances, or 0 for as many as the open-files limit needs", o.Procs)
	case o.Backlog < 0:
		return fmt.Errorf("--backlog %d must not be negative (0: each model's default)", o.Backlog)
	case o.ModelNoFile < 0:
		return fmt.Errorf("--model-nofile %d must not be negative (0: inherited)", o.ModelNoFile)
	case o.AgentNoFile < 0:
		return fmt.Errorf("--agent-nofile %d must not be negative (0: the hard limit)", o.AgentNoFile)
	case o.PidsLimit < 0:
		return fmt.Errorf("--pids-limit %d must not be negative (0: the default)", o.PidsLimit)
	case o.MemLimit < 0:
		return fmt.Errorf("--mem-limit %d must not be negative (0: the default)", o.MemLimit)
	case o.ReadyTimeout <= 0:
		return fmt.Errorf("--ready-timeout %v must be positive", o.ReadyTimeout)
	case o.MaxOffered < 0:
		return fmt.Errorf("--max-offered %d must not be negative (0: twice the last step)", o.MaxOffered)
	case o.MaxOffered > 0 && o.MaxOffered < o.Steps[len(o.Steps)-1]:
		return fmt.Errorf("--max-offered %d is below the last step %d", o.MaxOffered, o.Steps[len(o.Steps)-1])
	case o.Budget < 0:
		return fmt.Errorf("--budget %v must not be negative (0: none)", o.Budget)
	}
	for i := 1; i < len(o.Steps); i++ {
		if o.Steps[i] <= o.Steps[i-1] {
			return fmt.Errorf("--steps %v must be ascending, each step offering more than the one before", o.Steps)
		}
	}
	// One label names one model's timeline and summary: a second run of
	// it would overwrite the first's files.
	seen := map[string]bool{}
	for _, s := range o.Specs {
		if s.Work != "" {
			if _, err := contract.ParseWorkValue(s.Work); err != nil {
				return fmt.Errorf("--models %s: %w", s, err)
			}
		}
		if seen[s.Label()] {
			return fmt.Errorf("--models: %s is given twice; each model runs once per run (its files are named after it)", s.Label())
		}
		seen[s.Label()] = true
	}
	// The agents check their own settings only once started, after the
	// model: ask them now.
	agent := swarm.AgentConfig{Addr: o.Addr, Interval: o.Interval, Deadline: o.Deadline, MsgSize: o.MsgSize, Rate: o.Rate}
	if err := agent.Validate(); err != nil {
		return fmt.Errorf("the swarm agents would refuse these settings (--size, --interval, --deadline): %w", err)
	}
	return nil
}

func (o *Options) validateMachine(m Machine) error {
	return o.fits(m, o.Steps[len(o.Steps)-1])
}

// budgetFloor is the least share of Budget a model's budget falls to when
// the models before it overran the run's budget: a climb to 16,000 and a
// probe below it took forked 25 s (run 20261203-172047), so 28.5 s of
// the default 38 still closes such a bracket.
const budgetFloor = 0.75

// modelBudget is the budget of the next model: Budget, or with
// ShareBudget its share of what the run's budget (Budget for each of its
// measurements) has left after spent, the time since the first model
// began (starts, checks and teardowns counted, so that the run ends
// within its budget), over the measurements left, never less than
// budgetFloor of Budget. done is how many measurements have ended, of
// total.
func (o *Options) modelBudget(spent time.Duration, done, total int) time.Duration {
	if !o.ShareBudget || o.Budget <= 0 || done >= total {
		return o.Budget
	}
	left := time.Duration(total)*o.Budget - spent
	return max(left/time.Duration(total-done), time.Duration(budgetFloor*float64(o.Budget)))
}

// searching reports whether the run searches for capacity.
func (o *Options) searching() bool { return o.Search && len(o.Hostile) == 0 }

// searchTop is the most connections the search may offer: MaxOffered (or
// twice the last step), lowered to what the machine allows by the
// arithmetic of fits, in which case end and why name the machine's limit
// with its figures.
func (o *Options) searchTop(m Machine) (top int, end results.SearchEnd, why string) {
	last := o.Steps[len(o.Steps)-1]
	if !o.searching() {
		return last, results.SearchOff, ""
	}
	want := cmp.Or(o.MaxOffered, 2*last)
	err := o.fits(m, want)
	if err == nil {
		return want, results.SearchCeiling, fmt.Sprintf("%d connections, the most this run offers (--max-offered; the model's instances and the swarm's agents are sized for it)", want)
	}
	// The largest count that fits, between the last step (Validate took
	// it) and want.
	lo, hi := last, want
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; o.fits(m, mid) == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, results.SearchMachine, fmt.Sprintf("the machine allows the run at most %d connections: beyond, %v", lo, err)
}

// fits checks that a run offering top connections fits the machine: the
// agents and model instances it needs, and the runner's descriptors and
// tasks for them.
func (o *Options) fits(m Machine, top int) error {
	perProcess := o.ConnsPerProcess
	if perProcess <= 0 {
		perProcess = m.NoFile - fdMargin
	}
	if perProcess <= 0 {
		return fmt.Errorf("open-files limit %d leaves no descriptor for connections (raise: ulimit -n)", m.NoFile)
	}
	agents := ceilDiv(top, perProcess)
	if agents > maxAgents {
		return fmt.Errorf("%d connections (the last step) need %d swarm agents of %d connections each (the open-files limit %d), more than the %d the swarm can start",
			top, agents, perProcess, m.NoFile, maxAgents)
	}
	perInstance := perProcess
	if o.ModelNoFile > 0 {
		perInstance = max(1, o.ModelNoFile-fdMargin)
	}
	needed := ceilDiv(top, perInstance)
	procs := o.Procs
	if procs == 0 {
		procs = ceilDiv(top, perProcess)
	}
	byCPU := max(needed, instancesPerCPU*m.CPUs)
	byFDs := (m.NoFile - fdMargin - agents*runnerFDsPerAgent) / runnerFDsPerInstance
	byTasks := m.Tasks - agents // every instance and agent is at least one task
	switch {
	case o.Procs > top:
		return fmt.Errorf("--procs %d: more model instances than the %d connections of the last step; an instance would hold none", o.Procs, top)
	case procs > byFDs:
		return fmt.Errorf("--procs %d: the runner holds %d descriptors per model instance and %d per agent, so its open-files limit %d allows at most %d instances beside %d agents",
			procs, runnerFDsPerInstance, runnerFDsPerAgent, m.NoFile, max(byFDs, 0), agents)
	case procs > byTasks:
		return fmt.Errorf("--procs %d: only %d more tasks (threads and processes) may start on this machine (kernel.pid_max, kernel.threads-max, less what runs and a margin), and %d agents take some",
			procs, m.Tasks, agents)
	case o.Procs > byCPU:
		return fmt.Errorf("--procs %d: at most %d model instances on %d CPUs (%d per CPU, or as many as the open-files limit needs: %d for %d connections)",
			o.Procs, byCPU, m.CPUs, instancesPerCPU, needed, top)
	case o.PidsLimit > 0 && procs > o.PidsLimit:
		return fmt.Errorf("--procs %d: more instances than --pids-limit %d lets the model's cgroup hold", procs, o.PidsLimit)
	}
	return nil
}

func (o *Options) config(labels []string, modelCPUs, swarmCPUs []int, perProcess int) results.Config {
	c := results.Config{
		Models: labels, StepPlan: o.StepPlan, SearchBounds: o.SearchBounds, Messages: o.Messages, Instances: o.Instances,
		Judging: o.Judging, Addr: o.Addr.String(), ConnsPerAgent: perProcess,
		Processes: o.Processes, GuardLimits: o.GuardLimits, Pacing: o.Pacing, HostileSteps: o.HostileSteps,
	}
	// What the run did, where the settings only asked.
	c.Search = o.searching()
	c.ModelCPUs, c.SwarmCPUs = modelCPUs, swarmCPUs
	return c
}

// planned is one step of a run: its well-behaved connections, and the
// hostile ones of a kind.
type planned struct {
	offered int
	hostile int
	kind    string
}

// plan is the run's steps: --steps, then with --hostile one step per kind
// at the last step's count, the baseline the kinds are compared with.
func (o *Options) plan() []planned {
	var out []planned
	for _, n := range o.Steps {
		out = append(out, planned{offered: n})
	}
	last := o.Steps[len(o.Steps)-1]
	for _, k := range o.Hostile {
		out = append(out, planned{offered: last, hostile: max(1, int(o.HostileShare*float64(last)+0.5)), kind: k})
	}
	return out
}
