package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/replay"
)

const replayUsage = `usage: c10klab replay [flags]

Replays the original experiment with its own programs (replay/original/):
the ForkingMixIn server, then the ThreadingMixIn server, each with the
question's client against it (a thread per connection to "localhost", a
message a second, never reading) under an open-files limit like the
original's. Records both sides and the kernel about once a second, stops
every process it started, and explains each server's failures: which side,
and which mechanism. Writes results/<time>-replay/ with REPLAY.md, the
records and a timeline chart. Then, with --measure, runs the swarm on the
Python models (c10klab bench) into that folder's measure/.

flags:
`

func replayCmd(args []string, stdout, stderr io.Writer) error {
	opt := replay.Defaults()
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	servers := fs.String("servers", strings.Join(opt.Servers, ","), "the original servers to replay, in order: forked, threaded")
	fs.IntVar(&opt.Threads, "threads", opt.Threads, "client threads, one connection each (the original's SOCKET_AMOUNT)")
	fs.IntVar(&opt.ClientNoFile, "client-nofile", opt.ClientNoFile, "the client's open-files limit (the original failed at about 4,096)")
	fs.IntVar(&opt.ServerNoFile, "server-nofile", 0, "the servers' open-files limit (0: inherited)")
	port := fs.Uint("port", uint(opt.Port), "port on 127.0.0.1, reached by the name localhost as in the original")
	fs.DurationVar(&opt.Duration, "duration", opt.Duration, "the longest one server's replay runs (the kernel gives up an unanswered connect() after 127 s by default)")
	fs.DurationVar(&opt.Quiet, "quiet", opt.Quiet, "end a server's replay early once nothing is pending and nothing changed for this long")
	fs.DurationVar(&opt.After, "after", opt.After, "how long to watch the server once the client is killed")
	fs.BoolVar(&opt.Netns, "netns", opt.Netns, "run each server and its client in a network namespace of their own (root)")
	fs.IntVar(&opt.SynRetries, "syn-retries", 0, "set net.ipv4.tcp_syn_retries inside the replay's namespace only (0: the kernel's default)")
	measure := fs.String("measure", strings.Join(replay.MeasureModels, ","), "models the swarm measures after the replay (those under models/; \"\" or none: skip)")
	measureSteps := fs.String("measure-steps", "500,1000,2000,4000", "offered connections per step for --measure")
	resultsDir := fs.String("results", "", "folder for run folders (default: results/ in the project)")
	again := fs.String("report", "", "instead of replaying: explain and draw this replay folder again from its files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *again != "" {
		rep, err := replay.Rejudge(*again)
		if rep != nil {
			fmt.Fprintf(stdout, "%s\nreplay: %s\n", replay.Verdicts(rep), filepath.Join(*again, replay.ReplayReport))
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("--port %d outside 1..65535", *port)
	}
	opt.Port = uint16(*port)
	opt.Servers = strings.Split(*servers, ",")
	p, err := findProject()
	if err != nil {
		return err
	}
	opt.Root, opt.ResultsDir = p.root, p.results()
	if *resultsDir != "" {
		opt.ResultsDir = *resultsDir
	}
	opt.Command = append([]string{"c10klab", "replay"}, args...)
	opt.Observe = func(server, line string) { fmt.Fprintf(stdout, "%-8s %s\n", server, line) }
	raiseNoFile()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "\nc10klab replay: stopping, keeping what was measured")
			cancel()
		}
	}()

	dir, rep, runErr := replay.Run(ctx, opt)
	if rep != nil {
		fmt.Fprintf(stdout, "\n%s", replay.Verdicts(rep))
	}
	if dir != "" {
		fmt.Fprintf(stdout, "\nreplay: %s\n", filepath.Join(dir, replay.ReplayReport))
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return exitCode(130)
		}
		return runErr
	}
	return measureAfterReplay(ctx, p, dir, rep, *measure, *measureSteps, stdout)
}

// measureAfterReplay runs the swarm on the models named, those that exist,
// into the replay's folder.
func measureAfterReplay(ctx context.Context, p project, dir string, rep *replay.Replay, names, steps string, stdout io.Writer) error {
	if names == "" || names == "none" {
		return nil
	}
	specs, missing, err := replay.MeasureSpecs(p.models(), strings.Split(names, ","))
	if err != nil {
		return fmt.Errorf("--measure: %w", err)
	}
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "measure: skipping %s: not under %s\n", strings.Join(missing, ", "), p.models())
	}
	if len(specs) == 0 {
		return nil
	}
	opt := bench.Defaults()
	opt.Specs = specs
	if opt.Steps, err = parseInts(steps); err != nil {
		return fmt.Errorf("--measure-steps: %w", err)
	}
	opt.ModuleRoot, opt.ModelsDir, opt.BinDir = p.root, p.models(), p.bin()
	opt.ResultsDir = filepath.Join(dir, "measure")
	if opt.Exe, err = os.Executable(); err != nil {
		return err
	}
	opt.Command = []string{"c10klab", "replay", "--measure", names}
	tty, width := terminal(stdout)
	prog := newProgress(stdout, tty, width, false, opt)
	opt.Observe = prog.observe
	mdir, err := bench.Run(ctx, opt)
	prog.done()
	if mdir != "" {
		if ferr := finish(mdir, stdout); ferr != nil {
			fmt.Fprintf(stdout, "measure: report: %v\n", ferr)
		}
		if serr := replay.SetMeasure(dir, rep, mdir); serr != nil {
			return serr
		}
	}
	return err
}
