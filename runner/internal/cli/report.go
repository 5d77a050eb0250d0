package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"c10klab/runner/internal/bench"
	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/render"
	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/sysenv"
)

// finish renders a run's charts, CSVs, REPORT.md and REPORT.html and prints its summary
// table. The run is loaded once, so each problem is reported once.
func finish(dir string, stdout io.Writer) error {
	l, err := results.Load(dir)
	if err != nil {
		return err
	}
	renderErr := render.RenderLoaded(l, dir)
	fmt.Fprintln(stdout)
	if err := report.Table(stdout, l); err != nil {
		return errors.Join(renderErr, err)
	}
	if renderErr == nil {
		fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(dir, report.ReportFile))
		fmt.Fprintf(stdout, "in a browser: %s\n", filepath.Join(dir, report.HTMLFile))
	}
	return renderErr
}

func plotCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: c10klab plot [results/<run>]

Draws a run's charts (PNG and SVG), its CSV exports and REPORT.md again from
the saved files in the run folder, and prints its summary table. Without an
argument: the latest run under results/.`)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := runDir(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "drawing %s\n", dir)
	return finish(dir, stdout)
}

// runDir returns arg, or the latest run when arg is empty.
func runDir(arg string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	p, err := findProject()
	if err != nil {
		return "", err
	}
	return results.Latest(p.results())
}

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.Bool("table", false, "print the capacity table over the runs in Markdown (the form for three or more runs) also for two")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: c10klab compare results/A results/B
       c10klab compare [--table] results/A results/B results/C ... > table.md

With two runs: prints their summaries side by side with the change per
model (B relative to A). With three or more, or with --table: one Markdown
table of each model's capacity bracket in each run, the median, each run's
spread against it and a verdict (~: the brackets overlap; outside ±15%:
which runs), and each run's duration.`)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errUsage
	}
	var runs []*results.Loaded
	for _, dir := range fs.Args() {
		l, err := results.Load(dir)
		if err != nil {
			return err
		}
		if err := l.Check(); err != nil {
			fmt.Fprintf(stderr, "c10klab compare: warning: %v\n", err)
		}
		runs = append(runs, l)
	}
	if len(runs) > 2 || *table {
		return report.CompareRuns(stdout, runs)
	}
	return report.Compare(stdout, runs[0], runs[1])
}

func envCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.Int("target", 40000, "connections a run would offer; the pre-flight names every limit that caps it")
	procs := fs.Int("procs", 0, "model instances the run would start (0: as many as the open-files limit needs)")
	backlog := fs.Int("backlog", bench.DefaultModelBacklog, "listen backlog the run would ask for")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: c10klab env [flags]

Prints the environment record (kernel, CPUs, memory and every limit that can
cap a run: open files, threads and processes, listen backlog, ports, TCP
memory) and a pre-flight: each limit that will cap a run to --target, and
the command that would raise it.`)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	raiseNoFile()
	env, err := sysenv.Read()
	if err != nil {
		fmt.Fprintf(stderr, "c10klab env: some limits could not be read: %v\n", err)
	}
	warnings := bench.Preflight(env, *target, *procs, *backlog, 0)
	return sysenv.Format(stdout, env, warnings)
}

// cgexec is the resource guard's trampoline: enter the model's cgroups,
// then exec the model. It returns only on failure.
func cgexec(args []string) error {
	return guard.CgexecMain(args)
}
