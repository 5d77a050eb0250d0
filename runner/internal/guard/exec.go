package guard

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Subcommand is the hidden runner subcommand that enters cgroups and execs
// the model: `c10klab cgexec <cgroup dirs...> -- prog args...`.
//
// Why a re-exec: the model must be in its cgroups before it creates its
// first child or thread, or those escape the limits. Go's os/exec cannot
// run code between fork and exec, and SysProcAttr.UseCgroupFD works only
// with cgroup v2. So the runner starts itself as cgexec; that process
// writes its own PID to each cgroup.procs, then replaces itself with the
// model (same PID, so the runner's exec.Cmd still waits on the model).
const Subcommand = "cgexec"

// Wrap returns the argv that runs argv inside the group: self (the runner
// binary, e.g. from os.Executable) with Subcommand, the group's paths,
// "--" and argv.
func (g *Group) Wrap(self string, argv []string) []string {
	out := append([]string{self, Subcommand}, g.Paths()...)
	out = append(out, "--")
	return append(out, argv...)
}

// CgexecMain is the body of the Subcommand: args are what follows it,
// "<cgroup dirs...> -- prog args...". It returns only on failure.
func CgexecMain(args []string) error {
	for i, a := range args {
		if a == "--" {
			return ExecIn(args[:i], args[i+1:], os.Environ())
		}
	}
	return fmt.Errorf("guard: %s: want <cgroup dirs...> -- prog [args...]", Subcommand)
}

// ExecIn moves the calling process (all its threads) into each cgroup
// directory in paths, then execs argv with env. It returns only on
// failure; then the process may already be in some of the cgroups.
func ExecIn(paths []string, argv []string, env []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("guard: %s: no program to run", Subcommand)
	}
	pid := strconv.Itoa(os.Getpid())
	for _, dir := range paths {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), pid); err != nil {
			return err
		}
	}
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("guard: %s: %w", Subcommand, err)
	}
	if err := unix.Exec(prog, argv, env); err != nil {
		return fmt.Errorf("guard: %s: exec %s: %w", Subcommand, prog, err)
	}
	return nil
}
