// Package cli is the c10klab command line: it parses flags, finds the
// project's folders and hands the work to the packages that do it.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"c10klab/runner/internal/guard"
)

const usage = `c10klab: how many concurrent TCP connections does each server concurrency
model sustain on this machine, at what latency, memory and CPU, and what
fails first, and why?

usage: c10klab <command> [flags]

commands:
  bench     run the comparison and write results/<run>/ (c10klab bench --help)
  list      list the models found under models/
  env       print the environment record and the limits that will cap a run
  plot      draw the charts, REPORT.md and CSVs of a run folder again
  compare   two run folders side by side, or a capacity table over N runs
  replay    run the original experiment's own programs and explain its errors
  agent     a swarm agent (started by bench, or dialling a runner with --control)
  k8s       write the Kubernetes objects of a run (c10klab k8s --help; make k8s)

Run 'c10klab <command> --help' for a command's flags.
`

// Main runs the command line and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "bench":
		err = benchCmd(rest, stdout, stderr)
	case "list":
		err = list(rest, stdout, stderr)
	case "env":
		err = envCmd(rest, stdout, stderr)
	case "plot":
		err = plotCmd(rest, stdout, stderr)
	case "compare":
		err = compareCmd(rest, stdout, stderr)
	case "replay":
		err = replayCmd(rest, stdout, stderr)
	case "agent":
		err = agent(rest, stderr)
	case "k8s":
		err = k8sCmd(rest, stdout, stderr)
	case guard.Subcommand:
		err = cgexec(rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "c10klab: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		var ex exitCode
		if errors.As(err, &ex) {
			return int(ex) // whoever chose the code has said why
		}
		fmt.Fprintf(stderr, "c10klab %s: %v\n", cmd, err)
		return 1
	}
}

// errUsage means the flag package already printed what was wrong.
var errUsage = errors.New("usage")

// exitCode ends the command with this status and no message: the run
// (or the child it waited for) has already said what happened.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// parse parses a subcommand's flags wherever they stand among its
// arguments (`compare A B C --table` as `compare --table A B C`): the
// flag package stops at the first argument that is not a flag, and took
// `--table` after the folders for a folder. After "--" every argument is
// one.
func parse(fs *flag.FlagSet, args []string) error {
	var operands, rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// Parse again with the operands alone, after "--", so that fs.Args
	// holds them in order and no flag is read twice.
	return fs.Parse(append([]string{"--"}, append(operands, rest...)...))
}

// project is where c10klab finds its folders: the module root (go.mod)
// at or above the working directory.
type project struct {
	root string
}

func findProject() (project, error) {
	dir, err := os.Getwd()
	if err != nil {
		return project{}, err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "models")); err == nil {
				return project{root: d}, nil
			}
		}
		if filepath.Dir(d) == d {
			return project{}, fmt.Errorf("no c10klab project (go.mod and models/) at or above %s: run c10klab from the project folder", dir)
		}
	}
}

func (p project) models() string  { return filepath.Join(p.root, "models") }
func (p project) results() string { return filepath.Join(p.root, "results") }
func (p project) bin() string     { return filepath.Join(p.root, "bin", "models") }
