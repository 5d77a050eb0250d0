package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/swarm"
	"c10klab/runner/internal/units"
)

const benchUsage = `usage: c10klab bench [flags]

Runs the comparison: for each model in turn, starts it (as many instances on
one port with SO_REUSEPORT as the open-files limit requires), checks it
echoes, starts the swarm agents, then raises the offered connections step by
step. Each step ramps (opens the new connections at --rate), settles (waits,
at most --settle-max, until the model serves every open connection on time)
and is judged over an evaluation window of --hold. With --search (the
default) the steps are where a capacity search starts: after the first step
that fails it bisects between the last sustained and the first failed count
until they are within 10%; while the steps hold it raises the count (the
next step, then doubling, up to --max-offered) until the model fails, the
swarm or the machine is the limit, or the model's --budget is spent. The
capacity is reported as that bracket. A model's run also ends when the
model exits. Everything
measured is written to results/<run>/ as it is measured; a progress line is
printed per step and a summary at the end; on a terminal a status line,
rewritten each second, shows the step's phase, counts and the time left
(in a log: a plain one at most every 10 s of a long phase).

A connection is sustained when it stayed open through the window and every
echo due in it came back intact within --deadline. A step is sustained when
95% of its offered connections were and the window's p99 is within the
deadline. Ctrl-C stops the run cleanly: what was measured is kept, every
process the run started is stopped.

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
	stepsFlag := fs.String("steps", units.Ints(opt.Steps), "offered connections per step, ascending")
	work := fs.String("work", "", "the work each message costs the model before its echo (C10K_WORK): cpu=D (CPU time on the handling thread), wait=D (a non-blocking wait in the model's idiom), block=D (a blocking sleep in the handler), combined with commas (cpu=100us,wait=20ms); several settings separated by ';' measure every model under each, 'none' for the plain echo (make bench-work: none;cpu=200us;wait=50ms;block=5ms)")
	hostile := fs.String("hostile", "", "after the last step, one step per hostile kind: its connections plus --hostile-share as many misbehaving ones ("+strings.Join(swarm.HostileKinds, ", ")+", or all)")
	fs.Float64Var(&opt.HostileShare, "hostile-share", 0.25, "hostile connections per well-behaved one in a --hostile step")
	target := fs.Int("target", 0, "instead of --steps: 6 steps up to this many connections")
	fs.IntVar(&opt.Rate, "rate", opt.Rate, "connections opened per second by the whole swarm")
	fs.DurationVar(&opt.RampDoubling, "ramp-doubling", opt.RampDoubling, "start each ramp doubling the connections every this long, from 1,000, until that reaches --rate, so the per-second samples chart cost from 1,000 up (0: at --rate from the start)")
	fs.DurationVar(&opt.Hold, "hold", opt.Hold, "each step's evaluation window, after its settle")
	fs.BoolVar(&opt.Search, "search", opt.Search, "search each model's capacity from --steps: bisect after the first failing step to within 10%, raise past the last step while it holds (off with --hostile)")
	fs.IntVar(&opt.MaxOffered, "max-offered", opt.MaxOffered, "with --search: the most connections offered (0: twice the last step)")
	fs.DurationVar(&opt.Budget, "budget", opt.Budget, "with --search: each model's time from its start; no step starts that would end past it (0: none); with --share-budget, each model's share of the run's")
	fs.BoolVar(&opt.ShareBudget, "share-budget", opt.ShareBudget, "with --budget: the run's budget is --budget times the models, counted from the first model's start; each model gets, when it starts, what is left over the models left (never under 3/4 of --budget), so what one leaves goes to the ones after it")
	fs.DurationVar(&opt.SettleMax, "settle-max", opt.SettleMax, "longest a step waits after its ramp for the model to serve every open connection (0: 5s + 2 intervals)")
	fs.IntVar(&opt.Repeat, "repeat", 1, "measure each model this many times, round robin; the report gives median and range")
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
	sshHosts := fs.String("ssh-hosts", "", "run the agents over ssh on the hosts listed in this file, one a line: [user@]host[:port] [key=FILE] [exe=PATH] [src=ADDR+COUNT] [known_hosts=FILE] (docs/scale-out.md); give --addr an address they reach")
	control := fs.String("control", "", "with --dial-agents: listen for agents on this ip:port")
	dialAgents := fs.Int("dial-agents", 0, "take this many agents that dial --control (c10klab agent --control IP:PORT ..., started by you on other hosts; the run prints their command line)")
	listenAddr := fs.String("addr", "", "the model's listen address, an IP (default 127.0.0.1); off loopback only with agents on other hosts")
	hostsN := fs.Int("hosts", 0, "run in test hosts: a server host and this many client hosts, network namespaces with TCP settings of their own (root; otherwise loopback)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (models go in --models)", fs.Arg(0))
	}
	if set(fs, "target") {
		if *target <= 0 {
			return fmt.Errorf("--target %d: give the most connections to offer, a positive number", *target)
		}
		opt.Steps = stepsUpTo(*target)
	} else if opt.Steps, err = parseInts(*stepsFlag); err != nil {
		return fmt.Errorf("--steps: %w", err)
	}
	switch *hostile {
	case "":
	case "all":
		opt.Hostile = swarm.HostileKinds
	default:
		opt.Hostile = strings.Split(*hostile, ",")
	}
	if *port <= 0 || *port > 65535 {
		return fmt.Errorf("--port %d outside 1..65535", *port)
	}
	opt.Addr = netip.AddrPortFrom(opt.Addr.Addr(), uint16(*port))
	if *listenAddr != "" {
		ip, err := netip.ParseAddr(*listenAddr)
		if err != nil {
			return fmt.Errorf("--addr %q: %w (want an IP address)", *listenAddr, err)
		}
		opt.Addr = netip.AddrPortFrom(ip, uint16(*port))
	}
	if *sshHosts != "" {
		f, err := os.Open(*sshHosts)
		if err != nil {
			return fmt.Errorf("--ssh-hosts: %w", err)
		}
		opt.Placement.SSH, err = swarm.ParseHostList(f, swarm.SSH{})
		f.Close()
		if err != nil {
			return fmt.Errorf("--ssh-hosts %s: %w", *sshHosts, err)
		}
		if len(opt.Placement.SSH) == 0 {
			return fmt.Errorf("--ssh-hosts %s: no hosts listed", *sshHosts)
		}
	}
	switch {
	case *dialAgents < 0:
		return fmt.Errorf("--dial-agents %d: want a count of agents", *dialAgents)
	case *dialAgents > 0 && *control == "":
		return fmt.Errorf("--dial-agents needs --control IP:PORT to listen on")
	case *dialAgents == 0 && *control != "":
		return fmt.Errorf("--control needs --dial-agents N: how many agents will dial it")
	case *dialAgents > 0:
		ap, err := netip.ParseAddrPort(*control)
		if err != nil {
			return fmt.Errorf("--control %q: %w (want ip:port)", *control, err)
		}
		c, err := swarm.ListenControl(ap.String())
		if err != nil {
			return fmt.Errorf("--control: %w", err)
		}
		defer c.Close()
		opt.Placement.Control, opt.Placement.Dialers = c, *dialAgents
	}
	hosts, done, err := benchInHosts(*hostsN, opt.Steps, args, stdout, stderr)
	if done || err != nil {
		return err
	}
	if hosts != nil {
		opt.Placement.Hosts = hosts
		opt.Addr = netip.AddrPortFrom(hosts.Server.Addr, uint16(*port))
	}
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
	if *work != "" {
		works, err := bench.ParseWorkList(*work)
		if err != nil {
			return fmt.Errorf("--work: %w", err)
		}
		opt.Specs = bench.CrossWork(opt.Specs, works)
	}
	raiseNoFile()
	// Every flag is checked before anything starts: the model, the swarm
	// and the run folder all come after this.
	if err := opt.Validate(); err != nil {
		return err
	}

	// A reader that goes away (`c10klab bench | head -1`) must cost the
	// progress lines only: with SIGPIPE caught, a write to the closed pipe
	// returns EPIPE instead of killing the runner before it writes the
	// summaries and removes its cgroups. Caught, not ignored: an ignored
	// signal would stay ignored in the models and agents it starts. Never
	// stopped: Main's last error line may go to a closed stderr too.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	tty, width := terminal(stdout) // before stdout is wrapped
	out := &brokenSafe{w: stdout, onBreak: func(err error) {
		fmt.Fprintf(stderr, "c10klab bench: stdout closed (%v): no more progress lines; the run goes on and saves its results\n", err)
	}}
	stdout = out
	stderr = &brokenSafe{w: stderr}

	prog := newProgress(stdout, tty, width, *quiet, opt)
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
		prog.aside(func() {
			fmt.Fprintf(stderr, "\nc10klab: %v: stopping the run, keeping what was measured (again to quit at once)\n", s)
		})
		cancel()
		first := time.Now()
		for range sigs {
			// GNU timeout signals the command, then its whole process
			// group: one interrupt arrives twice within a moment. Only a
			// second one a person sends means "quit at once".
			if time.Since(first) >= doubleSignal {
				os.Exit(130) // children die with us: Pdeathsig
			}
		}
	}()

	fmt.Fprintf(stdout, "c10klab bench: %d model(s), steps %s, %d conn/s, hold %v, %v interval\n",
		len(opt.Specs), units.Ints(opt.Steps), opt.Rate, opt.Hold, opt.Interval)
	dir, runErr := bench.Run(ctx, opt)
	prog.done()
	var reportErr error
	if _, err := os.Stat(filepath.Join(dir, results.RunFile)); dir != "" && err == nil {
		fmt.Fprintf(stdout, "\nresults: %s\n", dir)
		if reportErr = finish(dir, stdout); reportErr != nil {
			reportErr = fmt.Errorf("report: %w", reportErr)
		}
	}
	if out.Broken() != nil && dir != "" {
		fmt.Fprintf(stderr, "c10klab bench: results: %s\n", dir)
	}
	if runErr != nil {
		if reportErr != nil {
			fmt.Fprintf(stderr, "c10klab bench: %v\n", reportErr)
		}
		if ctx.Err() != nil {
			return exitCode(130)
		}
		return runErr
	}
	return reportErr
}

// doubleSignal is how soon after the first a second SIGINT or SIGTERM is
// taken as the same interrupt delivered twice (timeout -s INT sends it to
// the runner and to its process group), not as a person's second Ctrl-C.
const doubleSignal = time.Second

// set reports whether the flag was given on the command line.
func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
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
