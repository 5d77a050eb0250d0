package replay

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"c10klab/runner/internal/netns"
)

// space is where a server and its client run: the server host of a set of
// network namespaces made by package netns, or the machine's own namespace
// when hosts is nil (--netns=false, or no root). A namespace of its own
// gives the replay a loopback, a port space and TCP counters no other
// process on the machine touches, and sysctls it may set without changing
// the host's. Both programs run in the server host and talk over its
// loopback, by the name localhost, as the original did; the client hosts
// netns also makes stay unused.
type space struct {
	hosts *netns.Hosts
}

// openSpace makes the namespaces when isolated, else returns the host's.
func openSpace(isolated bool) (*space, error) {
	if !isolated {
		return &space{}, nil
	}
	h, err := netns.Create(1, netns.Settings{})
	if err != nil {
		return nil, err
	}
	return &space{hosts: h}, nil
}

// argv returns the command line that runs argv inside the space. netns
// wraps it with nsenter, which execs argv: the process keeps the PID the
// runner sees.
func (s *space) argv(argv ...string) []string {
	if s.hosts == nil {
		return argv
	}
	return s.hosts.Server.Wrap(argv)
}

func (s *space) command(ctx context.Context, argv ...string) *exec.Cmd {
	a := s.argv(argv...)
	return exec.CommandContext(ctx, a[0], a[1:]...)
}

// sysctl reads a sysctl as the space sees it (net.* are per namespace).
func (s *space) sysctl(name string) (int64, error) {
	var v string
	var err error
	if s.hosts == nil {
		var b []byte
		b, err = os.ReadFile(sysctlPath(name))
		v = string(b)
	} else {
		v, err = s.hosts.Server.Sysctl(name)
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0, fmt.Errorf("read %s: empty", name)
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// setSysctl sets a per-namespace sysctl. Only ever inside a namespace of
// the replay's own: the host's settings are never changed.
func (s *space) setSysctl(name string, v int64) error {
	if s.hosts == nil {
		return fmt.Errorf("set %s: refusing to change the host's namespace", name)
	}
	err := s.hosts.Server.Do(func() error {
		return os.WriteFile(sysctlPath(name), []byte(strconv.FormatInt(v, 10)), 0)
	})
	if err != nil {
		return fmt.Errorf("set %s=%d: %w", name, v, err)
	}
	return nil
}

// close deletes the namespaces; their sockets and any process left in
// them go too.
func (s *space) close() error {
	if s.hosts == nil {
		return nil
	}
	return s.hosts.Close()
}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}
