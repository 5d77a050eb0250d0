package swarm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	stopped bool
}

type agentProc struct {
	index int
	link  *Link
	enc   *json.Encoder
	done  chan struct{}
}

// Start launches the agents. They hold no connection until SetTarget.
func Start(cfg Config) (*Swarm, error) {
	if cfg.Agents < 1 {
		return nil, fmt.Errorf("swarm: need at least one agent, got %d", cfg.Agents)
	}
	s := &Swarm{died: make(chan error, cfg.Agents), latest: make([]Status, cfg.Agents), pending: NewHist()}
	rate := max(cfg.TotalRate/cfg.Agents, 1)
	launchers := cfg.Launchers
	if len(launchers) == 0 {
		launchers = []Launcher{Pipe{Exe: cfg.Exe, CPUs: cfg.CPUs}}
	}
	for i := 0; i < cfg.Agents; i++ {
		ac := cfg.Agent
		ac.Index, ac.Rate = i, rate
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
func (s *Swarm) SetTarget(total int) error {
	k := len(s.agents)
	for i, a := range s.agents {
		n := total / k
		if i < total%k {
			n++
		}
		if err := a.enc.Encode(Command{Target: n}); err != nil {
			return fmt.Errorf("swarm: send target to agent %d: %w", i, err)
		}
	}
	return nil
}

// Collect sums the agents' latest statuses and returns, beside the sum, the
// latency histogram of the echoes reported since the previous Collect.
func (s *Swarm) Collect() (results.Swarm, *hdr.Histogram) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := results.Swarm{Failures: map[string]int64{}, ClientFailures: map[string]int64{}}
	for _, st := range s.latest {
		sum.Open += st.Open
		sum.Connecting += st.Connecting
		sum.Sustained += st.Sustained
		sum.Sent += st.Sent
		sum.Echoed += st.Echoed
		sum.Unstamped += st.Unstamped
		addCounts(sum.Failures, st.Failures)
		addCounts(sum.ClientFailures, st.ClientFailures)
		sum.LagMaxMs = max(sum.LagMaxMs, st.LagMaxMs)
	}
	h := s.pending
	s.pending = NewHist()
	sum.Latency = Percentiles(h)
	return sum, h
}

func addCounts(dst, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
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
