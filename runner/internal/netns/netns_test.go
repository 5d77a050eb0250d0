package netns_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/netns"
)

func needNetns(t *testing.T) {
	t.Helper()
	if err := netns.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// ownLeftovers are the namespaces of this test process still present.
func ownLeftovers(t *testing.T) []string {
	t.Helper()
	all, err := netns.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, n := range all {
		if o, _ := netns.Owner(n); o == os.Getpid() {
			own = append(own, n)
		}
	}
	return own
}

func TestOwner(t *testing.T) {
	cases := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"c10k-123-srv", 123, true},
		{"c10k-9-c17", 9, true},
		{"c10k-x-srv", 0, false},
		{"c10k-123", 0, false},
		{"other-123-srv", 0, false},
		{"c10k-0-sw", 0, false},
	}
	for _, c := range cases {
		pid, ok := netns.Owner(c.name)
		if pid != c.pid || ok != c.ok {
			t.Errorf("Owner(%q) = %d, %v; want %d, %v", c.name, pid, ok, c.pid, c.ok)
		}
	}
}

func TestSourcesFor(t *testing.T) {
	wide := netns.DefaultSettings() // 1024-65535: 58,060 usable per address
	cases := []struct {
		s            netns.Settings
		conns, hosts int
		want         int
	}{
		{wide, 2000, 4, 1},
		{wide, 58_060, 1, 1},
		{wide, 58_061, 1, 2},
		{wide, 2_000_000, 4, 9},           // 500,000 a host
		{wide, 10_000_000, 20, 9},         // 500,000 a host
		{netns.Settings{}, 100_000, 1, 4}, // the kernel's default range: 25,408 usable
	}
	for _, c := range cases {
		if got := c.s.SourcesFor(c.conns, c.hosts); got != c.want {
			t.Errorf("SourcesFor(%d conns, %d hosts) with range %v = %d, want %d", c.conns, c.hosts, c.s.PortRange, got, c.want)
		}
	}
}

// TestHosts makes a server and two clients, checks each has its own
// address and TCP settings while the machine's stay as they were, that a
// client reaches the server over the bridge by the server's address, and
// that Close leaves no namespace, link or process behind.
func TestHosts(t *testing.T) {
	needNetns(t)
	before := map[string]string{}
	keys := []string{"net.core.somaxconn", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_max_syn_backlog"}
	for _, k := range keys {
		before[k] = sysctl(t, k)
	}
	linksBefore := mustLinks(t)

	s := netns.Settings{Somaxconn: 12345, PortRange: [2]int{2000, 64000}, SynBacklog: 23456, Sources: 3}
	hosts, err := netns.Create(2, s)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			hosts.Close()
		}
	}()
	if len(hosts.Clients) != 2 || len(hosts.Clients[1].Srcs) != 3 {
		t.Fatalf("hosts %+v: want 2 clients with 3 addresses each", hosts)
	}
	want := map[string]string{"net.core.somaxconn": "12345", "net.ipv4.ip_local_port_range": "2000 64000", "net.ipv4.tcp_max_syn_backlog": "23456"}
	for _, h := range hosts.All() {
		for k, v := range want {
			got, err := h.Sysctl(k)
			if err != nil || got != v {
				t.Errorf("%s: %s = %q, %v; want %q", h.Name, k, got, err, v)
			}
		}
		// The same setting seen by a process started in the host, as a
		// model or agent would be.
		out, err := wrapCmd(h, "cat", "/proc/sys/net/core/somaxconn").Output()
		if err != nil || strings.TrimSpace(string(out)) != "12345" {
			t.Errorf("%s: somaxconn seen by a process inside = %q, %v", h.Name, out, err)
		}
	}
	for _, k := range keys {
		if got := sysctl(t, k); got != before[k] {
			t.Errorf("machine's %s changed: %q, was %q", k, got, before[k])
		}
	}
	if got := mustLinks(t); !slices.Equal(got, linksBefore) {
		t.Errorf("machine's links changed: %v, were %v", got, linksBefore)
	}

	// An echo over the bridge, from every source address of client 1.
	ln, err := hosts.Server.Listen("tcp4", netip.AddrPortFrom(hosts.Server.Addr, 7007).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	cl := hosts.Clients[1]
	for _, src := range cl.Srcs {
		err := cl.Do(func() error {
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
			c, err := d.Dial("tcp4", ln.Addr().String())
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write([]byte("ping")); err != nil {
				return err
			}
			buf := make([]byte, 4)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				return fmt.Errorf("echo %q: %v", buf, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("from %v: %v", src, err)
		}
		if got := <-peers; got != src.String() {
			t.Errorf("server saw peer %s, want %s", got, src)
		}
	}
	// No address of the run is in the machine's namespace (a dial would
	// not tell: this sandbox's uplink accepts connects to any address).
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && netns.Subnet.Contains(p.Addr()) {
				t.Errorf("machine's namespace has %v", a)
			}
		}
	}

	// A process left running inside a client is ended by Close.
	sleeper := wrapCmd(cl, "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()
	waitFor(t, func() bool { p, _ := cl.PIDs(); return slices.Contains(p, sleeper.Process.Pid) })

	ln.Close()
	closed = true
	if err := hosts.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		sleeper.Process.Kill()
		t.Fatal("process inside a client host survived Close")
	}
	if left := ownLeftovers(t); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
	if got := mustLinks(t); !slices.Equal(got, linksBefore) {
		t.Errorf("links left behind: %v, were %v", got, linksBefore)
	}
}

// TestSweep: namespaces named for an owner that is gone are removed by the
// next Create; those of a live owner stay.
func TestSweep(t *testing.T) {
	needNetns(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("%s%d-srv", netns.Prefix, gone.Process.Pid)
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	kept := fmt.Sprintf("%s%d-srv", netns.Prefix, live.Process.Pid)
	for _, n := range []string{dead, kept} {
		if out, err := exec.Command("ip", "netns", "add", n).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v %s", n, err, out)
		}
	}
	defer exec.Command("ip", "netns", "delete", kept).Run()
	defer exec.Command("ip", "netns", "delete", dead).Run()

	hosts, err := netns.Create(1, netns.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	defer hosts.Close()
	left, err := netns.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(left, dead) {
		t.Errorf("%s (owner gone) not swept: %v", dead, left)
	}
	if !slices.Contains(left, kept) {
		t.Errorf("%s (owner alive) swept: %v", kept, left)
	}
}

func sysctl(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 10s")
}

func wrapCmd(h netns.Host, argv ...string) *exec.Cmd {
	w := h.Wrap(argv)
	return exec.Command(w[0], w[1:]...)
}

func mustLinks(t *testing.T) []string {
	t.Helper()
	l, err := netns.Links()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
