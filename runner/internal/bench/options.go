// Package bench runs the comparison: for each model it starts the model
// and a swarm, raises the offered connections step by step, samples every
// second and writes what it measures to the run folder as it goes. It
// prints nothing; callers watch the record stream through Options.Observe.
package bench

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// Options is one run's settings.
type Options struct {
	ModuleRoot string // where go.mod is; models are built from here
	ModelsDir  string
	BinDir     string
	ResultsDir string
	Exe        string // the c10klab binary (agents run as `Exe agent`)
	Command    []string

	Specs    []model.Spec
	Steps    []int
	Rate     int
	Hold     time.Duration
	Interval time.Duration
	Deadline time.Duration
	MsgSize  int
	Procs    int // model instances; 0: as many as the open-files limit needs
	Pin      bool
	// ModelCPUs and SwarmCPUs override the split of the CPUs when pinning
	// (default: the first CPU for the model, the rest for the swarm); an
	// empty, non-nil list leaves that side unpinned.
	ModelCPUs, SwarmCPUs []int
	SustainRatio         float64
	Addr                 netip.AddrPort
	Backlog              int // C10K_BACKLOG for the models; 0: each model's default (4096, or its preset's)
	ReadyTimeout         time.Duration
	// ConnsPerProcess is how many connections one process (model instance
	// or agent) may hold; 0: the open-files soft limit minus a margin.
	ConnsPerProcess int
	ModelEnv        []string // extra KEY=VALUE for every model
	// ModelNoFile and AgentNoFile, when positive, lower the open-files
	// limit of each model instance or swarm agent, to provoke those limits.
	ModelNoFile int
	AgentNoFile int
	Guard       bool  // run models under the resource guard
	MemLimit    int64 // guard memory limit in bytes; 0: default
	PidsLimit   int   // guard process/thread limit; 0: default
	// Conformance runs the quick conformance check before measuring.
	Conformance bool
	// SettleMax bounds each step's settle; 0: the connect timeout plus two
	// intervals.
	SettleMax time.Duration
	// Repeat measures each model this many times (0 or 1: once).
	Repeat int

	// Observe, when set, receives every record as it is written, labelled
	// with its model: the terminal's progress is one more consumer.
	Observe func(label string, r results.Record)
}

// Defaults are the settings of `make bench`.
func Defaults() Options {
	return Options{
		Steps:        []int{1000, 5000, 10000, 20000, 30000, 40000},
		Rate:         10000,
		Hold:         5 * time.Second,
		Interval:     time.Second,
		Deadline:     time.Second,
		MsgSize:      16,
		Pin:          true,
		SustainRatio: 0.95,
		Addr:         netip.MustParseAddrPort("127.0.0.1:9999"),
		ReadyTimeout: 10 * time.Second,
		Guard:        true,
		Conformance:  true,
	}
}

// Validate checks the settings before anything starts.
func (o *Options) Validate() error {
	switch {
	case len(o.Specs) == 0:
		return fmt.Errorf("no models to run")
	case len(o.Steps) == 0:
		return fmt.Errorf("no steps: give --steps or --target")
	case !slices.IsSorted(o.Steps) || o.Steps[0] <= 0:
		return fmt.Errorf("steps %v must be positive and ascending", o.Steps)
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
	case !o.Addr.Addr().IsLoopback():
		return fmt.Errorf("address %v is not loopback: c10klab sends load only to 127.0.0.0/8", o.Addr)
	}
	return nil
}

func (o *Options) config(labels []string, modelCPUs, swarmCPUs []int, perProcess int) results.Config {
	return results.Config{
		Models: labels, Steps: o.Steps, Rate: o.Rate, Hold: o.Hold,
		Interval: o.Interval, Deadline: o.Deadline, MsgSize: o.MsgSize,
		Procs: o.Procs, Pin: o.Pin, ModelCPUs: modelCPUs, SwarmCPUs: swarmCPUs,
		SustainRatio: o.SustainRatio, Addr: o.Addr.String(), ConnsPerAgent: perProcess,
		Backlog: o.Backlog, ModelNoFile: o.ModelNoFile, AgentNoFile: o.AgentNoFile, ModelEnv: o.ModelEnv,
		Guard: o.Guard, MemLimit: o.MemLimit, PidsLimit: o.PidsLimit, Repeat: o.Repeat, SettleMax: o.SettleMax,
	}
}
