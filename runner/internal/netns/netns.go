// Package netns makes test hosts out of Linux network namespaces: a server
// host and N client hosts, each with an address of its own on a bridge, and
// each with its own TCP settings (somaxconn, port range, SYN backlog), so a
// run can behave like clients and a server on different machines while the
// machine's own settings stay untouched.
//
// Everything a run creates lives inside namespaces whose names carry the
// c10k prefix and the owner's PID: the bridge sits in a "switch" namespace
// of its own, the veth pairs join it to each host, and no address or link is
// added to the machine's namespace. Deleting the namespaces therefore
// removes every link, and a later run removes the namespaces of an owner
// that is gone (Ctrl-C, crash, SIGKILL).
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procfs"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "c10k-"

// runDir is where `ip netns` keeps its named namespaces.
const runDir = "/run/netns"

// Settings are a host's own TCP settings, written inside its namespace
// (these sysctls are per network namespace since Linux 4.x-5.x).
type Settings struct {
	Somaxconn  int    // net.core.somaxconn; 0: leave the namespace default
	PortRange  [2]int // net.ipv4.ip_local_port_range; zero: leave
	SynBacklog int    // net.ipv4.tcp_max_syn_backlog; 0: leave
	// Sources is how many addresses each client host gets (at least one):
	// one address gives one port range of connections per server address.
	Sources int
}

// DefaultSettings are those of a host tuned to hold many connections: the
// largest listen queues and the widest ephemeral port range.
func DefaultSettings() Settings {
	return Settings{Somaxconn: 65535, PortRange: [2]int{1024, 65535}, SynBacklog: 65535, Sources: 1}
}

// SourcesFor is how many addresses each of hosts client hosts needs to
// open conns connections in all to one server address and port: each
// (source address, server address:port) pair has one port range of ports.
// A tenth of the range is kept spare for ports the kernel's hashed search
// skips and for TIME_WAIT.
func (s Settings) SourcesFor(conns, hosts int) int {
	lo, hi := s.PortRange[0], s.PortRange[1]
	if s.PortRange == [2]int{} {
		lo, hi = 32768, 60999 // the kernel's default range
	}
	perAddr := max(1, (hi-lo+1)*9/10)
	perHost := (conns + hosts - 1) / hosts
	return max(1, (perHost+perAddr-1)/perAddr)
}

func (s Settings) sysctls() map[string]string {
	m := map[string]string{}
	if s.Somaxconn > 0 {
		m["net/core/somaxconn"] = strconv.Itoa(s.Somaxconn)
	}
	if s.PortRange != [2]int{} {
		m["net/ipv4/ip_local_port_range"] = fmt.Sprintf("%d %d", s.PortRange[0], s.PortRange[1])
	}
	if s.SynBacklog > 0 {
		m["net/ipv4/tcp_max_syn_backlog"] = strconv.Itoa(s.SynBacklog)
	}
	return m
}

// Host is one namespace with its address(es) on the bridge.
type Host struct {
	Name string       // the namespace, as `ip netns` names it
	Addr netip.Addr   // its first address
	Srcs []netip.Addr // every address it has on the bridge, Addr first
}

// Hosts is one run's set of namespaces.
type Hosts struct {
	Server   Host
	Clients  []Host
	switchNS string
	owner    int
	borrowed bool // described by the owner (Inside): not ours to remove
}

// Subnet holds every address Create hands out. The same subnet serves every
// run: each run's bridge is in a namespace of its own, so two runs never
// see each other's addresses.
var Subnet = netip.MustParsePrefix("10.213.0.0/16")

// Available says why namespaces cannot be made here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("network namespaces need ip (iproute2): %w", err)
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return fmt.Errorf("network namespaces need nsenter (util-linux): %w", err)
	}
	return nil
}

// Create makes a server host and n client hosts, after removing the
// leftovers of runs whose owner is gone. The caller must Close the result.
func Create(n int, s Settings) (*Hosts, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("netns: %d client hosts: want 1..250", n)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	if _, err := Sweep(); err != nil {
		return nil, err
	}
	if s.Sources < 1 {
		s.Sources = 1
	}
	if s.Sources > 250 {
		return nil, fmt.Errorf("netns: %d source addresses per host: want at most 250", s.Sources)
	}
	pid := os.Getpid()
	h := &Hosts{owner: pid, switchNS: switchName(pid)}
	if err := h.create(n, s); err != nil {
		return nil, errors.Join(err, h.Close())
	}
	return h, nil
}

func (h *Hosts) create(n int, s Settings) error {
	if err := addNS(h.switchNS); err != nil {
		return err
	}
	if err := ip("-n", h.switchNS, "link", "add", "br0", "type", "bridge"); err != nil {
		return err
	}
	if err := ip("-n", h.switchNS, "link", "set", "br0", "up"); err != nil {
		return err
	}
	base := Subnet.Addr().As4()
	h.Server = Host{Name: fmt.Sprintf("%s%d-srv", Prefix, h.owner)}
	h.Server.Srcs = []netip.Addr{netip.AddrFrom4([4]byte{base[0], base[1], 0, 1})}
	for i := range n {
		c := Host{Name: fmt.Sprintf("%s%d-c%d", Prefix, h.owner, i)}
		for j := range s.Sources {
			c.Srcs = append(c.Srcs, netip.AddrFrom4([4]byte{base[0], base[1], byte(i + 1), byte(j + 1)}))
		}
		h.Clients = append(h.Clients, c)
	}
	for i, host := range h.All() {
		if err := h.join(i, host, s); err != nil {
			return err
		}
	}
	h.Server.Addr = h.Server.Srcs[0]
	for i := range h.Clients {
		h.Clients[i].Addr = h.Clients[i].Srcs[0]
	}
	return nil
}

// join makes host's namespace and links it to the bridge as port i.
func (h *Hosts) join(i int, host Host, s Settings) error {
	if err := addNS(host.Name); err != nil {
		return err
	}
	port := fmt.Sprintf("p%d", i)
	steps := [][]string{
		{"-n", h.switchNS, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.Name},
		{"-n", h.switchNS, "link", "set", port, "master", "br0", "up"},
		{"-n", host.Name, "link", "set", "lo", "up"},
		{"-n", host.Name, "link", "set", "eth0", "up"},
	}
	bits := strconv.Itoa(Subnet.Bits())
	for _, a := range host.Srcs {
		steps = append(steps, []string{"-n", host.Name, "addr", "add", a.String() + "/" + bits, "dev", "eth0"})
	}
	for _, st := range steps {
		if err := ip(st...); err != nil {
			return err
		}
	}
	return host.Do(func() error {
		for k, v := range s.sysctls() {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0); err != nil {
				return fmt.Errorf("netns %s: set %s: %w", host.Name, strings.ReplaceAll(k, "/", "."), err)
			}
		}
		return nil
	})
}

func switchName(owner int) string { return fmt.Sprintf("%s%d-sw", Prefix, owner) }

// All is the server followed by the clients.
func (h *Hosts) All() []Host { return append([]Host{h.Server}, h.Clients...) }

// Names are the namespaces of the run, the switch's included.
func (h *Hosts) Names() []string {
	names := []string{h.switchNS}
	for _, host := range h.All() {
		names = append(names, host.Name)
	}
	return names
}

// Close kills every process still inside the run's namespaces (they are the
// run's own: nothing else can enter them) and deletes the namespaces, which
// removes the bridge and every veth pair with them.
func (h *Hosts) Close() error {
	if h.borrowed {
		return nil
	}
	var errs []error
	for _, name := range slices.Backward(h.Names()) {
		if err := remove(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wrap returns argv run inside the host's network namespace by nsenter,
// which execs argv in place: the PID of the started process is argv's.
// Not `ip netns exec`: that also makes a mount namespace and remounts
// /sys, which hides the cgroup hierarchies the guard puts models in.
func (host Host) Wrap(argv []string) []string {
	return append([]string{"nsenter", "--net=" + filepath.Join(runDir, host.Name), "--"}, argv...)
}

// Exec rewrites cmd, not yet started, to run inside the host.
func (host Host) Exec(cmd *exec.Cmd) error {
	if cmd.Process != nil {
		return fmt.Errorf("netns: %s already started", cmd.Path)
	}
	wrapped := host.Wrap(append([]string{cmd.Path}, cmd.Args[1:]...))
	path, err := exec.LookPath(wrapped[0])
	if err != nil {
		return err
	}
	cmd.Path, cmd.Args = path, wrapped
	return nil
}

// Do runs f on an OS thread that has entered the host's namespace; sockets
// f creates belong to the host and keep working from any thread after.
func (host Host) Do(f func() error) error { return Enter(filepath.Join(runDir, host.Name), f) }

// Enter runs f on an OS thread that has entered the network namespace at
// path (a /run/netns entry, or /proc/PID/ns/net), and leaves it after.
func Enter(path string, f func() error) error {
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", path, err)
	}
	defer unix.Close(target)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: enter %s: %w", path, err)
			runtime.UnlockOSThread()
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and dies with this goroutine
			// rather than serve others inside the wrong namespace.
			errc <- errors.Join(ferr, fmt.Errorf("netns: leave %s: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Listen opens a listener inside the host.
func (host Host) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := host.Do(func() (err error) { ln, err = net.Listen(network, addr); return err })
	return ln, err
}

// Dial connects from inside the host.
func (host Host) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := host.Do(func() (err error) { c, err = net.DialTimeout(network, addr, timeout); return err })
	return c, err
}

// Sysctl reads a setting as the host sees it, e.g. "net.core.somaxconn".
func (host Host) Sysctl(key string) (string, error) {
	var v []byte
	err := host.Do(func() (err error) {
		v, err = os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")))
		return err
	})
	return strings.Join(strings.Fields(string(v)), " "), err
}

// PIDs are the processes inside the host.
func (host Host) PIDs() ([]int, error) { return nsPIDs(host.Name) }

// Sweep removes the namespaces of owners that are no longer running and
// returns their names. A namespace is recognised as c10k's by its name:
// the prefix, the owner's PID, a dash.
func Sweep() ([]string, error) {
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netns: list leftovers: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		owner, ok := Owner(e.Name())
		if !ok || alive(owner) {
			continue
		}
		if err := remove(e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// Owner parses the owner's PID out of a namespace name this package made.
func Owner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(num)
	return pid, err == nil && pid > 0
}

// Links lists the network interfaces of the calling process's namespace:
// before and after a run they must be the same, since the hosts' veth
// pairs and bridge live in namespaces of their own.
func Links() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("netns: list links: %w", err)
	}
	names := make([]string, len(ifs))
	for i, f := range ifs {
		names[i] = f.Name
	}
	return names, nil
}

// Leftovers lists the c10k namespaces present, any owner's.
func Leftovers() ([]string, error) {
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, ok := Owner(e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func addNS(name string) error { return ip("netns", "add", name) }

// remove kills what runs inside the namespace, waits for it to go and
// deletes the namespace.
func remove(name string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := nsPIDs(name)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns %s: processes %v still inside after SIGKILL", name, pids)
		}
		for _, p := range pids {
			_ = unix.Kill(p, syscall.SIGKILL) // gone already is fine
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ip("netns", "delete", name)
}

// nsPIDs lists the processes whose network namespace is name's, as
// `ip netns pids` does, by comparing namespace inodes.
func nsPIDs(name string) ([]int, error) {
	var want unix.Stat_t
	if err := unix.Stat(filepath.Join(runDir, name), &want); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("netns %s: %w", name, err)
	}
	procs, err := procfs.ListPIDs()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, pid := range procs {
		var st unix.Stat_t
		if unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &st) != nil {
			continue // exited meanwhile, or a kernel thread
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func ip(args ...string) error {
	cmd := exec.Command("ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
