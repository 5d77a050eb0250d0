package replay

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// netns is the network namespace a server and its client run in. A
// namespace of its own gives the replay a loopback, a port space and TCP
// counters no other process on the machine touches, and sysctls it may
// set without changing the host's. The zero value (name "") is the host's
// namespace, used when namespaces are not available.
type netns struct {
	name string
}

// newNetns creates a namespace named name with its loopback up.
func newNetns(ctx context.Context, name string) (*netns, error) {
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	ns := &netns{name: name}
	if out, err := ns.command(ctx, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		ns.remove()
		return nil, fmt.Errorf("bring up lo in %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return ns, nil
}

// netnsSupported says why namespaces cannot be used here, or nil.
func netnsSupported() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("no ip(8) (iproute2)")
	}
	return nil
}

// netnsPrefix starts the name of every namespace a replay creates,
// followed by the runner's PID.
const netnsPrefix = "c10klab-replay-"

// removeStale deletes namespaces left by replays whose runner no longer
// exists (killed before it could clean up): only names this package makes,
// and only when their PID is gone.
func removeStale(ctx context.Context) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], netnsPrefix) {
			continue
		}
		pid, _, _ := strings.Cut(strings.TrimPrefix(f[0], netnsPrefix), "-")
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its replay is still running
		}
		(&netns{name: f[0]}).remove()
	}
}

// argv returns the command line that runs argv inside the namespace. `ip
// netns exec` execs argv, so the process keeps the PID the runner sees.
func (ns *netns) argv(argv ...string) []string {
	if ns.name == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", ns.name}, argv...)
}

func (ns *netns) command(ctx context.Context, argv ...string) *exec.Cmd {
	a := ns.argv(argv...)
	return exec.CommandContext(ctx, a[0], a[1:]...)
}

// sysctl reads a sysctl as the namespace sees it (net.* are per namespace).
func (ns *netns) sysctl(ctx context.Context, name string) (int64, error) {
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	out, err := ns.command(ctx, "cat", path).Output()
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return 0, fmt.Errorf("read %s: empty", name)
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// setSysctl sets a per-namespace sysctl. Only ever called inside a
// namespace of the replay's own: the host's settings are never changed.
func (ns *netns) setSysctl(ctx context.Context, name string, v int64) error {
	if ns.name == "" {
		return fmt.Errorf("set %s: refusing to change the host's namespace", name)
	}
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	out, err := ns.command(ctx, "sh", "-c", "echo "+strconv.FormatInt(v, 10)+" > "+path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("set %s=%d: %w: %s", name, v, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// remove deletes the namespace; its sockets go with it.
func (ns *netns) remove() error {
	if ns.name == "" {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "delete", ns.name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %w: %s", ns.name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
