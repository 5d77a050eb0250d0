package swarm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"c10klab/runner/internal/results"
)

// Config describes the swarm the runner starts.
type Config struct {
	Exe       string      // the c10klab binary; agents run as `Exe agent ...`
	Agents    int         // agent processes
	TotalRate int         // connections opened per second by the whole swarm
	Agent     AgentConfig // template; Index and Rate are set per agent
	CPUs      []int       // pin agents here; empty: no pinning
	// Launchers start the agents: agent i by Launchers[i%len(Launchers)]
	// (a pipe, ssh, a control listener; transport.go). Empty: local
	// pipes running Exe, pinned to CPUs.
	Launchers []Launcher
}

// Swarm is the running set of agents.
type Swarm struct {
	agents []*agentProc
	died   chan error

	mu      sync.Mutex
	latest  []Status
	pending *hdr.Histogram // echoes reported since the last Collect
	// lagMs is each agent's worst lag since the last Collect: an agent can
	// send two statuses between Collects (an evaluation's among them).
	lagMs   []float64
	evals   []Status      // each agent's latest status that ended a window
	opens   []Status      // each agent's latest status that started one
	acks    []Status      // each agent's latest status that answered a target
	seq     int           // the last target command's or report's Seq
	evalled chan struct{} // a signal per such status received
	stopped bool
}

type agentProc struct {
	index int
	link  *Link
	enc   *json.Encoder
	done  chan struct{}
}

// AgentConfig is agent i's configuration: the template with its index and
// its share of the rate. An agent that dials in carries it in its flags
// (DialBackArgs).
func (cfg Config) AgentConfig(i int) AgentConfig {
	ac := cfg.Agent
	ac.Index, ac.Rate = i, max(cfg.TotalRate/max(cfg.Agents, 1), 1)
	if ac.RampDoubling > 0 {
		ac.RampFrom = max((RampFrom+cfg.Agents-1)/cfg.Agents, 1)
	}
	return ac
}

// Start launches the agents. They hold no connection until SetTarget.
func Start(cfg Config) (*Swarm, error) {
	if cfg.Agents < 1 {
		return nil, fmt.Errorf("swarm: need at least one agent, got %d", cfg.Agents)
	}
	s := &Swarm{died: make(chan error, cfg.Agents), latest: make([]Status, cfg.Agents), pending: NewHist(),
		lagMs: make([]float64, cfg.Agents), evals: make([]Status, cfg.Agents), opens: make([]Status, cfg.Agents), acks: make([]Status, cfg.Agents),
		evalled: make(chan struct{}, cfg.Agents)}
	launchers := cfg.Launchers
	if len(launchers) == 0 {
		launchers = []Launcher{Pipe{Exe: cfg.Exe, CPUs: cfg.CPUs}}
	}
	for i := 0; i < cfg.Agents; i++ {
		ac := cfg.AgentConfig(i)
		if err := ac.Validate(); err != nil {
			s.Stop()
			return nil, err
		}
		a, err := s.startAgent(launchers[i%len(launchers)], ac)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("swarm: start agent %d: %w", i, err)
		}
		s.agents = append(s.agents, a)
	}
	return s, nil
}

func (s *Swarm) startAgent(l Launcher, ac AgentConfig) (*agentProc, error) {
	link, err := l.Launch(ac)
	if err != nil {
		return nil, err
	}
	a := &agentProc{index: ac.Index, link: link, enc: json.NewEncoder(link.Commands), done: make(chan struct{})}
	go s.readStatus(a, link.Statuses)
	return a, nil
}

func (s *Swarm) readStatus(a *agentProc, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var last Status
	for sc.Scan() {
		var st Status
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			continue // not a status line; the agent's stderr says what went wrong
		}
		last = st
		s.mu.Lock()
		s.latest[a.index] = st
		s.lagMs[a.index] = max(s.lagMs[a.index], st.LagMaxMs)
		if st.Evaluated > 0 || st.WindowOpened > 0 || st.Acked > 0 {
			switch {
			case st.Evaluated > 0:
				s.evals[a.index] = st
			case st.WindowOpened > 0:
				s.opens[a.index] = st
			default:
				s.acks[a.index] = st
			}
			select {
			case s.evalled <- struct{}{}:
			default:
			}
		}
		if len(st.Hist) > 0 {
			if h, err := decodeHist(st.Hist); err == nil {
				s.pending.Merge(h)
			}
		}
		s.mu.Unlock()
	}
	err := a.link.Wait()
	close(a.done)
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return
	}
	msg := fmt.Sprintf("swarm agent %d (%s) exited: %v", a.index, a.link.Where, err)
	if last.Err != "" {
		msg += ": " + last.Err
	}
	if t := a.link.Stderr(); t != "" {
		msg += "; stderr: " + t
	}
	s.died <- errors.New(msg)
}

// Died delivers an error when an agent exits before Stop.
func (s *Swarm) Died() <-chan error { return s.died }

// PIDs returns the process IDs of the agents running on this host, whose
// costs the runner samples; agents elsewhere (ssh, dialled in) have none here.
func (s *Swarm) PIDs() []int {
	var pids []int
	for _, a := range s.agents {
		if a.link.Local {
			pids = append(pids, a.link.PID)
		}
	}
	return pids
}

// SetTarget shares total connections evenly among the agents.
func (s *Swarm) SetTarget(total int) error { return s.SetTargets(total, 0, "") }

// SetTargets shares total well-behaved connections and hostile ones of
// kind evenly among the agents, and waits until each has answered: from
// then on every status describes the new targets, none the old.
func (s *Swarm) SetTargets(total, hostile int, kind string) error {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	k := len(s.agents)
	share := func(n, i int) int {
		if i < n%k {
			return n/k + 1
		}
		return n / k
	}
	for i, a := range s.agents {
		c := Command{Target: share(total, i), Hostile: share(hostile, i), Seq: seq}
		if c.Hostile > 0 {
			c.HostileKind = kind
		}
		if err := a.enc.Encode(c); err != nil {
			return fmt.Errorf("swarm: send target to agent %d: %w", i, err)
		}
	}
	// Every status, the answers included, becomes the agent's latest as it
	// arrives: once all have answered, Collect sums none of the old ones.
	_, err := s.await("target command "+strconv.Itoa(seq), 5*time.Second, func(i int) (Status, bool) { return s.acks[i], s.acks[i].Acked == seq })
	return err
}

// Evaluation is what the agents said at the start or the end of a window.
type Evaluation struct {
	Sustained int     // connections sustained through the window, all agents (at the end)
	LagMaxMs  float64 // the agents' worst lag behind schedule in their last second
	// Counters as the agents counted them at that moment, summed: fresher
	// than the last per-second status. The window's echoes are the end's
	// less the start's.
	Counters results.SwarmCounters
}

// StartWindow starts evaluation window n (positive, increasing) on every
// agent and returns their counters as it began. It waits at most wait.
func (s *Swarm) StartWindow(n int, wait time.Duration) (Evaluation, error) {
	if err := s.broadcast(Command{Window: n}); err != nil {
		return Evaluation{}, err
	}
	return s.await("the start of window "+strconv.Itoa(n), wait, func(i int) (Status, bool) { return s.opens[i], s.opens[i].WindowOpened == n })
}

// Evaluate ends window n and returns how many connections the whole swarm
// sustained through it. It waits at most wait for every agent's answer.
// The answers' lag counts: an agent that fell behind just before it
// counted has sent late what it then finds overdue.
func (s *Swarm) Evaluate(n int, wait time.Duration) (Evaluation, error) {
	if err := s.broadcast(Command{Evaluate: n}); err != nil {
		return Evaluation{}, err
	}
	return s.await("the end of window "+strconv.Itoa(n), wait, func(i int) (Status, bool) { return s.evals[i], s.evals[i].Evaluated == n })
}

// Report asks every agent for its status now and returns their counts
// summed, waiting at most wait. The answers become the agents' latest
// statuses, as the once-a-second ones do: the next Collect sums them.
func (s *Swarm) Report(wait time.Duration) (Evaluation, error) {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	if err := s.broadcast(Command{Report: seq}); err != nil {
		return Evaluation{}, err
	}
	return s.await("report "+strconv.Itoa(seq), wait, func(i int) (Status, bool) { return s.acks[i], s.acks[i].Acked == seq })
}

// await waits until every agent has answered what, as got tells, and sums
// the answers.
func (s *Swarm) await(what string, wait time.Duration, got func(agent int) (Status, bool)) (Evaluation, error) {
	timeout := time.After(wait)
	for {
		s.mu.Lock()
		ev := Evaluation{Counters: results.SwarmCounters{Failures: map[string]int64{}, ClientFailures: map[string]int64{}}}
		missing := -1
		for i := range s.agents {
			st, ok := got(i)
			if !ok {
				missing = i
				break
			}
			ev.Sustained += st.WindowSustained
			ev.LagMaxMs = max(ev.LagMaxMs, st.LagMaxMs)
			ev.Counters.Add(st.SwarmCounters)
		}
		s.mu.Unlock()
		if missing < 0 {
			return ev, nil
		}
		select {
		case <-s.evalled:
		case <-timeout:
			return Evaluation{}, fmt.Errorf("swarm: agent %d did not answer %s within %v", missing, what, wait)
		}
	}
}

func (s *Swarm) broadcast(c Command) error {
	for i, a := range s.agents {
		if err := a.enc.Encode(c); err != nil {
			return fmt.Errorf("swarm: send %+v to agent %d: %w", c, i, err)
		}
	}
	return nil
}

// Collect sums the agents' latest statuses and returns, beside the sum, the
// latency histogram of the echoes reported since the previous Collect.
func (s *Swarm) Collect() (results.Swarm, *hdr.Histogram) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := results.Swarm{SwarmCounters: results.SwarmCounters{Failures: map[string]int64{}, ClientFailures: map[string]int64{}}}
	for i, st := range s.latest {
		sum.Add(st.SwarmCounters)
		sum.LagMaxMs = max(sum.LagMaxMs, s.lagMs[i])
		s.lagMs[i] = 0
		if h := st.Hostile; h != nil {
			if sum.Hostile == nil {
				sum.Hostile = &results.Hostile{Kind: h.Kind, Failures: map[string]int64{}}
			}
			sum.Hostile.Offered += h.Offered
			sum.Hostile.Open += h.Open
			sum.Hostile.Cycles += h.Cycles
			sum.Hostile.Failures = results.AddCounts(sum.Hostile.Failures, h.Failures)
		}
	}
	h := s.pending
	s.pending = NewHist()
	sum.Latency = Percentiles(h)
	return sum, h
}

// Stop closes the agents' command streams, which makes them close their
// connections and exit, and kills any agent still running after a grace
// period.
func (s *Swarm) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	for _, a := range s.agents {
		a.link.Commands.Close()
	}
	deadline := time.After(5 * time.Second)
	for _, a := range s.agents {
		select {
		case <-a.done:
		case <-deadline:
			a.link.Kill()
			<-a.done
		}
	}
}
