package cli

import (
	"flag"
	"fmt"
	"io"

	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/results"
)

// finish prints the end-of-run summary of dir.
func finish(dir string, stdout io.Writer) error {
	l, err := results.Load(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%-12s %9s %9s  %s\n", "model", "capacity", "p99 ms", "diagnosis")
	for _, m := range l.Models() {
		s, ok := l.Summaries[m]
		if !ok {
			fmt.Fprintf(stdout, "%-12s (no summary: the run of this model did not finish)\n", m)
			continue
		}
		fmt.Fprintf(stdout, "%-12s %9d %9.2f  %s\n", m, s.Capacity, s.Latency.P99, s.Diagnosis)
	}
	return nil
}

func plotCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	return fmt.Errorf("not yet")
}

func compareCmd(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not yet")
}

func envCmd(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not yet")
}

// cgexec is the resource guard's trampoline: enter the model's cgroups,
// then exec the model. It returns only on failure.
func cgexec(args []string) error {
	return guard.CgexecMain(args)
}
