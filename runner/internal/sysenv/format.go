package sysenv

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Format prints env as a table (limit, value, scope, connections it
// allows, how to raise it) followed by the warnings, for `c10klab env`.
// warnings are strings so a saved run's Environment.Warnings print too.
func Format(w io.Writer, env results.Environment, warnings []string) error {
	root := "no"
	if env.Root {
		root = "yes"
	}
	if _, err := fmt.Fprintf(w, "kernel %s · %d CPUs · memory %s available of %s · page %d B · root: %s\n\n",
		env.Kernel, env.CPUs, units.BytesTenths(env.MemAvailable), units.BytesTenths(env.MemTotal), env.PageSize, root); err != nil {
		return fmt.Errorf("format environment: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LIMIT\tVALUE\tSCOPE\tCONNS\tRAISE")
	for _, l := range env.Limits {
		conns := "-"
		if l.Conns > 0 {
			conns = units.Grouped(l.Conns)
		}
		raise := l.Raise
		if raise == "" {
			raise = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Name, l.Value, l.Scope, conns, raise)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("format limits: %w", err)
	}
	if _, err := fmt.Fprintln(w, "\nCONNS is what a limit lets one process (scope process) or the machine hold; memory figures are estimates ("+
		strconv.Itoa(KernelBytesPerSocket>>10)+" KiB of kernel memory per socket, both ends on this machine)."); err != nil {
		return fmt.Errorf("format environment: %w", err)
	}
	if len(warnings) == 0 {
		_, err := fmt.Fprintln(w, "\nNo limit caps the plan before its target.")
		return err
	}
	if _, err := fmt.Fprintf(w, "\nLimits that cap the run before its target (%d):\n", len(warnings)); err != nil {
		return fmt.Errorf("format warnings: %w", err)
	}
	for _, m := range warnings {
		if _, err := fmt.Fprintf(w, "  ! %s\n", m); err != nil {
			return fmt.Errorf("format warnings: %w", err)
		}
	}
	return nil
}
