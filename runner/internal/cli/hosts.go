package cli

import (
	"fmt"
	"io"
	"os"
	"slices"

	"c10klab/runner/internal/netns"
)

// benchInHosts handles bench --hosts N. Outside the test hosts it makes a
// server host and n client hosts, with the client addresses the largest
// step needs, re-executes this same command in the server host and returns
// done with its exit; the namespaces are gone when it returns. Inside, it
// returns the hosts, for the run's Placement. Without root it says so and
// the run goes on over loopback (hosts nil, done false).
func benchInHosts(n int, steps []int, args []string, stdout, stderr io.Writer) (hosts *netns.Hosts, done bool, err error) {
	if n <= 0 {
		return nil, false, nil
	}
	if h, inside, err := netns.Inside(); inside || err != nil {
		return h, false, err
	}
	if err := netns.Available(); err != nil {
		fmt.Fprintf(stderr, "c10klab bench: --hosts %d: %v; running on loopback instead\n", n, err)
		return nil, false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, true, fmt.Errorf("--hosts: find own executable: %w", err)
	}
	s := netns.DefaultSettings()
	if len(steps) > 0 {
		s.Sources = s.SourcesFor(slices.Max(steps), n)
	}
	fmt.Fprintf(stdout, "c10klab bench: a server host and %d client hosts (%d address(es) each), somaxconn %d, ports %d-%d, SYN backlog %d\n",
		n, s.Sources, s.Somaxconn, s.PortRange[0], s.PortRange[1], s.SynBacklog)
	code, err := netns.RunInServer(n, s, append([]string{exe, "bench"}, args...), stdout, stderr)
	if err != nil {
		return nil, true, fmt.Errorf("--hosts: %w", err)
	}
	if code != 0 {
		return nil, true, exitCode(code)
	}
	return nil, true, nil
}
