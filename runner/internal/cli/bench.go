package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/model"
)

const benchUsage = `usage: c10klab bench [flags]

Runs the comparison: for each model in turn, starts it (as many instances on
one port with SO_REUSEPORT as the open-files limit requires), checks it
echoes, starts the swarm agents, then raises the offered connections step by
step: open at --rate, hold for --hold, evaluate. A model's run ends at the
last step, when fewer than 95% of the offered connections are sustained, or
when the model exits. Everything measured is written to results/<run>/ as it
is measured; a progress line is printed per step and a summary at the end.

A connection is sustained while it is open and its latest message came back
intact within --deadline. Ctrl-C stops the run cleanly: what was measured is
kept, every process the run started is stopped.

flags:
`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func benchCmd(args []string, stdout, stderr io.Writer) error {
	opt := bench.Defaults()
	prof, err := applyProfile(&opt, args)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	fs.String("profile", prof.Name, "named settings the other flags then override: default (make bench), scale (make bench-scale: to 2,000,000 connections at a message a minute)")
	modelsFlag := fs.String("models", strings.Join(prof.Models, ","), "comma-separated models to run, in order, each optionally with a preset (forked:seed); default: all under models/")
	stepsFlag := fs.String("steps", joinInts(opt.Steps), "offered connections per step, ascending")
	target := fs.Int("target", 0, "instead of --steps: 6 steps up to this many connections")
	fs.IntVar(&opt.Rate, "rate", opt.Rate, "connections opened per second by the whole swarm")
	fs.DurationVar(&opt.Hold, "hold", opt.Hold, "how long each step holds its connections before it is evaluated")
	fs.DurationVar(&opt.Interval, "interval", opt.Interval, "time between messages on one connection")
	fs.DurationVar(&opt.Deadline, "deadline", opt.Deadline, "an echo later than this fails (at most --interval)")
	fs.IntVar(&opt.MsgSize, "size", opt.MsgSize, "message size in bytes")
	fs.IntVar(&opt.Procs, "procs", 0, "model instances sharing the port; 0: as many as the open-files limit needs")
	fs.BoolVar(&opt.Pin, "pin", opt.Pin, "pin the model to one CPU; the swarm may use every CPU (see --swarm-cpus)")
	modelCPUs := fs.String("model-cpus", "", "with --pin: CPUs for the model, e.g. 0 or 0,1 (default: the first CPU; \"none\": unpinned)")
	swarmCPUs := fs.String("swarm-cpus", "", "with --pin: CPUs for the swarm agents (default: all, the model's included, so the clients never queue on one CPU; without the guard's cgroups, the model's excepted; \"none\": unpinned)")
	port := fs.Int("port", int(opt.Addr.Port()), "TCP port the model listens on (127.0.0.1)")
	fs.IntVar(&opt.Backlog, "backlog", opt.Backlog, "listen backlog passed to the models (C10K_BACKLOG); 0: each model's own default (4096, or its preset's, e.g. 5 for forked:seed)")
	fs.DurationVar(&opt.ReadyTimeout, "ready-timeout", opt.ReadyTimeout, "how long a model may take to echo after it starts")
	var env stringList
	fs.Var(&env, "model-env", "KEY=VALUE passed to every model (repeatable), e.g. C10K_FORK_CAP=100")
	fs.IntVar(&opt.ModelNoFile, "model-nofile", 0, "lower each model instance's open-files limit to this, to see it meet the limit early (0: inherited)")
	fs.IntVar(&opt.AgentNoFile, "agent-nofile", 0, "lower each swarm agent's open-files limit to this, to see the swarm run short (0: the hard limit)")
	fs.BoolVar(&opt.Guard, "guard", opt.Guard, "run models under the resource guard (cgroup memory and pids limits as root; a memory watchdog otherwise)")
	memLimit := fs.String("mem-limit", "", "guard memory limit for a model, e.g. 8GiB (default: a safe share of this machine)")
	fs.IntVar(&opt.PidsLimit, "pids-limit", 0, "guard process+thread limit for a model (default: headroom below kernel.pid_max)")
	fs.BoolVar(&opt.Conformance, "conformance", opt.Conformance, "run the quick conformance check before measuring a model")
	resultsDir := fs.String("results", "", "folder for run folders (default: results/ in the project)")
	quiet := fs.Bool("quiet", false, "print only step lines and the summary")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (models go in --models)", fs.Arg(0))
	}
	if *target > 0 {
		opt.Steps = stepsUpTo(*target)
	} else if opt.Steps, err = parseInts(*stepsFlag); err != nil {
		return fmt.Errorf("--steps: %w", err)
	}
	if *port <= 0 || *port > 65535 {
		return fmt.Errorf("--port %d outside 1..65535", *port)
	}
	opt.Addr = netip.AddrPortFrom(opt.Addr.Addr(), uint16(*port))
	if opt.ModelCPUs, err = parseCPUs(*modelCPUs); err != nil {
		return fmt.Errorf("--model-cpus: %w", err)
	}
	if opt.SwarmCPUs, err = parseCPUs(*swarmCPUs); err != nil {
		return fmt.Errorf("--swarm-cpus: %w", err)
	}
	if *memLimit != "" {
		if opt.MemLimit, err = parseBytes(*memLimit); err != nil {
			return fmt.Errorf("--mem-limit: %w", err)
		}
	}
	opt.ModelEnv = env

	p, err := findProject()
	if err != nil {
		return err
	}
	opt.ModuleRoot, opt.ModelsDir, opt.BinDir = p.root, p.models(), p.bin()
	opt.ResultsDir = p.results()
	if *resultsDir != "" {
		opt.ResultsDir = *resultsDir
	}
	if opt.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own executable for the swarm agents: %w", err)
	}
	opt.Command = append([]string{"c10klab", "bench"}, args...)
	if *modelsFlag == "" {
		found, err := model.Discover(opt.ModelsDir)
		if err != nil {
			return err
		}
		for _, m := range found {
			opt.Specs = append(opt.Specs, model.Spec{Name: m.Name})
		}
	} else {
		for _, s := range strings.Split(*modelsFlag, ",") {
			spec, err := model.ParseSpec(s)
			if err != nil {
				return fmt.Errorf("--models: %w", err)
			}
			opt.Specs = append(opt.Specs, spec)
		}
	}
	raiseNoFile()

	prog := &progress{w: stdout, quiet: *quiet}
	opt.Observe = prog.observe

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "\nc10klab: %v: stopping the run, keeping what was measured (again to quit at once)\n", s)
		cancel()
		if _, ok := <-sigs; ok {
			os.Exit(130) // children die with us: Pdeathsig
		}
	}()

	fmt.Fprintf(stdout, "c10klab bench: %d model(s), steps %s, %d conn/s, hold %v, %v interval\n",
		len(opt.Specs), joinInts(opt.Steps), opt.Rate, opt.Hold, opt.Interval)
	dir, runErr := bench.Run(ctx, opt)
	if dir != "" {
		fmt.Fprintf(stdout, "\nresults: %s\n", dir)
		if err := finish(dir, stdout); err != nil {
			fmt.Fprintf(stderr, "c10klab bench: report: %v\n", err)
		}
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return exitCode(130)
		}
		return runErr
	}
	return nil
}

// raiseNoFile lifts the open-files soft limit to the hard limit: models and
// agents inherit it, and the hard limit is what the machine allows.
func raiseNoFile() {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) // best effort; the run reports the limit it has
	}
}

func stepsUpTo(target int) []int {
	fr := []float64{0.05, 0.25, 0.5, 0.75, 0.9, 1}
	var out []int
	for _, f := range fr {
		v := int(f * float64(target))
		if v > 0 && (len(out) == 0 || v > out[len(out)-1]) {
			out = append(out, v)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// parseCPUs reads a CPU list: "" is nil (the default split), "none" an
// empty list (unpinned).
func parseCPUs(s string) ([]int, error) {
	switch s {
	case "":
		return nil, nil
	case "none":
		return []int{}, nil
	}
	cpus, err := parseInts(s)
	if err != nil {
		return nil, err
	}
	for _, c := range cpus {
		if c < 0 || c >= runtime.NumCPU() {
			return nil, fmt.Errorf("CPU %d: this machine has CPUs 0..%d", c, runtime.NumCPU()-1)
		}
	}
	return cpus, nil
}

func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f <= 0 {
				return 0, fmt.Errorf("%q: want a size such as 8GiB", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a size such as 8GiB", s)
	}
	return v, nil
}
