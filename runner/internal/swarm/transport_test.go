package swarm_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/procutil"
	"c10klab/runner/internal/swarm"
)

// buildC10klab builds the binary agents run as.
func buildC10klab(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "c10klab")
	if out, err := exec.Command("go", "build", "-o", exe, "c10klab/runner").CombinedOutput(); err != nil {
		t.Fatalf("build c10klab: %v\n%s", err, out)
	}
	return exe
}

// echoServer echoes on ln and records each connection's peer address.
type echoServer struct {
	ln    net.Listener
	mu    sync.Mutex
	peers map[string]int
	conns []net.Conn
	wg    sync.WaitGroup
}

func serveEcho(t *testing.T, ln net.Listener) *echoServer {
	e := &echoServer{ln: ln, peers: map[string]int{}}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.peers[c.RemoteAddr().(*net.TCPAddr).IP.String()]++
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			e.wg.Add(1)
			go func() { defer e.wg.Done(); io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(e.close)
	return e
}

func (e *echoServer) close() {
	e.ln.Close()
	e.mu.Lock()
	for _, c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

func (e *echoServer) addr() netip.AddrPort { return netip.MustParseAddrPort(e.ln.Addr().String()) }

func (e *echoServer) peerCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.peers {
		out[k] = v
	}
	return out
}

func agentTemplate(addr netip.AddrPort) swarm.AgentConfig {
	return swarm.AgentConfig{
		Addr: addr, Interval: 200 * time.Millisecond, Deadline: 200 * time.Millisecond,
		ConnectTimeout: 2 * time.Second, MsgSize: 16, MaxInFlight: 256,
	}
}

// holdAll raises the target and waits until the swarm sustains every
// connection with echoes flowing, or fails the test with what it saw.
func holdAll(t *testing.T, sw *swarm.Swarm, n int) {
	t.Helper()
	if err := sw.SetTarget(n); err != nil {
		t.Fatal(err)
	}
	var echoed int64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-sw.Died():
			t.Fatalf("agent died: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		sum, _ := sw.Collect()
		if sum.Sustained == n && sum.Echoed >= echoed+int64(n) && echoed > 0 {
			if len(sum.Failures) > 0 || len(sum.ClientFailures) > 0 {
				t.Fatalf("failures %v client %v", sum.Failures, sum.ClientFailures)
			}
			return
		}
		if sum.Sustained == n && echoed == 0 {
			echoed = sum.Echoed // then wait for a full round more
		}
		if time.Now().Add(time.Second).After(deadline) {
			t.Fatalf("after 30s: %+v", sum)
		}
	}
}

// proc is a process the test started itself and waits for.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error
}

// startDialBack starts `c10klab agent --control ...` as the test's own
// child, as a user on another host would.
func startDialBack(t *testing.T, argv []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	stderr := procutil.NewTail(20)
	p.cmd.Stderr = stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := p.cmd.Wait(); err != nil {
			p.err = fmt.Errorf("%w: %s", err, stderr.String())
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill() // by PID: the test's own child
			<-p.done
		}
	})
	return p
}

func exited(t *testing.T, what string, p *proc) {
	t.Helper()
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited: %v", what, p.err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s still running 10s after Stop", what)
	}
}

// TestControlTransport: two agents dial the runner's control listener on
// loopback, a third runs over a pipe; together they hold every connection,
// and all three exit when the swarm stops.
func TestControlTransport(t *testing.T) {
	exe := buildC10klab(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveEcho(t, ln)
	ctl, err := swarm.ListenControl("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	ctl.Timeout = 20 * time.Second

	tmpl := agentTemplate(srv.addr())
	var dialers []*proc
	for i := range 2 {
		ac := tmpl
		ac.Index, ac.Rate = 10+i, 1000
		dialers = append(dialers, startDialBack(t, append([]string{exe}, swarm.DialBackArgs(ac, ctl.Addr())...)))
	}
	pipe := swarm.Pipe{Exe: exe}
	sw, err := swarm.Start(swarm.Config{Exe: exe, Agents: 3, TotalRate: 3000, Agent: tmpl,
		Launchers: []swarm.Launcher{ctl, ctl, pipe}})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			sw.Stop()
		}
	}()
	if pids := sw.PIDs(); len(pids) != 1 {
		t.Errorf("PIDs %v: want the pipe agent's alone (dialled-in agents run elsewhere)", pids)
	}
	const n = 300
	holdAll(t, sw, n)
	pipePID := sw.PIDs()[0]
	sw.Stop()
	stopped = true
	for i, d := range dialers {
		exited(t, fmt.Sprintf("dial-back agent %d", i), d)
	}
	if err := syscall.Kill(pipePID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pipe agent %d still there after Stop: %v", pipePID, err)
	}
}

// TestControlTimeout: Launch says which agent it waited for, and for how
// long, when none dials in.
func TestControlTimeout(t *testing.T) {
	ctl, err := swarm.ListenControl("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	ctl.Timeout = 100 * time.Millisecond
	_, err = swarm.Start(swarm.Config{Agents: 1, TotalRate: 10, Agent: agentTemplate(netip.MustParseAddrPort("127.0.0.1:9")),
		Launchers: []swarm.Launcher{ctl}})
	if err == nil || !strings.Contains(err.Error(), "no agent dialled control") {
		t.Fatalf("err = %v, want a timeout naming the control address", err)
	}
}

// TestSSHAndControlAcrossHosts runs a swarm over three network-namespace
// hosts: the runner's host (the echo server and the control listener), a
// client host where an OpenSSH server started by the test runs one agent
// (the c10klab binary copied there with scp), and a client host whose agent
// dials the runner's control address. Each agent connects from its own
// host's address; afterwards no namespace, link or process remains.
func TestSSHAndControlAcrossHosts(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/sshd"); err2 != nil {
			t.Skip("skipping: sshd is not installed (apt-get install openssh-server)")
		}
		sshd = "/usr/sbin/sshd"
	}
	exe := buildC10klab(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	linksBefore := mustLinks(t)

	hosts, err := netns.Create(2, netns.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	hostsClosed := false
	defer func() {
		if !hostsClosed {
			hosts.Close()
		}
	}()
	runner, sshHost, dialHost := hosts.Server, hosts.Clients[0], hosts.Clients[1]

	// Keys made for the test: the client's identity and sshd's host key.
	for _, k := range []string{"id", "hostkey"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "c10k-test", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "id.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hostPub, err := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	const sshPort = 2222
	write(t, filepath.Join(dir, "authorized_keys"), string(pub))
	write(t, filepath.Join(dir, "known_hosts"), fmt.Sprintf("[%s]:%d %s", sshHost.Addr, sshPort, hostPub))
	write(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`Port %d
ListenAddress %s
HostKey %s
AuthorizedKeysFile %s
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
`, sshPort, sshHost.Addr, filepath.Join(dir, "hostkey"), filepath.Join(dir, "authorized_keys")))
	// sshd insists on its privilege separation directory.
	if _, err := os.Stat("/run/sshd"); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove("/run/sshd")
	}
	sshdCmd := exec.Command("nsenter", sshHost.Wrap([]string{sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config")})[1:]...)
	sshdLog := procutil.NewTail(40)
	sshdCmd.Stderr = sshdLog
	sshdCmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := sshdCmd.Start(); err != nil {
		t.Fatal(err)
	}
	sshdDone := make(chan error, 1)
	go func() { sshdDone <- sshdCmd.Wait() }()
	sshdStopped := false
	stopSSHD := func() {
		if sshdStopped {
			return
		}
		sshdStopped = true
		sshdCmd.Process.Signal(syscall.SIGTERM) // by PID: the sshd the test started
		select {
		case <-sshdDone:
		case <-time.After(5 * time.Second):
			sshdCmd.Process.Kill()
			<-sshdDone
		}
	}
	defer stopSSHD()
	waitListening(t, runner, netip.AddrPortFrom(sshHost.Addr, sshPort), sshdDone, sshdLog)

	ln, err := runner.Listen("tcp4", netip.AddrPortFrom(runner.Addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := serveEcho(t, ln)
	cln, err := runner.Listen("tcp4", netip.AddrPortFrom(runner.Addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	ctl := swarm.NewControl(cln)
	defer ctl.Close()
	ctl.Timeout = 20 * time.Second

	remote := swarm.SSH{
		Host: sshHost.Addr.String(), User: "root", Port: sshPort,
		Key: filepath.Join(dir, "id"), KnownHosts: filepath.Join(dir, "known_hosts"), ConfigFile: "/dev/null",
		Exe: filepath.Join(dir, "remote-c10klab"), Wrap: runner.Wrap, Src: sshHost.Addr, SrcCount: 1,
	}
	if err := remote.Copy(exe); err != nil {
		t.Fatalf("%v\nsshd: %s", err, sshdLog.String())
	}
	if st, err := os.Stat(remote.Exe); err != nil || st.Mode()&0o100 == 0 {
		t.Fatalf("copied binary: %v %v", st, err)
	}

	tmpl := agentTemplate(srv.addr())
	dial := tmpl
	dial.Index, dial.Rate, dial.Src, dial.SrcCount = 1, 1000, dialHost.Addr, 1
	dialDone := startDialBack(t, dialHost.Wrap(append([]string{exe}, swarm.DialBackArgs(dial, ctl.Addr())...)))

	sw, err := swarm.Start(swarm.Config{Exe: exe, Agents: 2, TotalRate: 2000, Agent: tmpl,
		Launchers: []swarm.Launcher{remote, ctl}})
	if err != nil {
		t.Fatalf("%v\nsshd: %s", err, sshdLog.String())
	}
	swStopped := false
	defer func() {
		if !swStopped {
			sw.Stop()
		}
	}()
	const n = 200
	holdAll(t, sw, n)
	peers := srv.peerCounts()
	want := map[string]int{sshHost.Addr.String(): n / 2, dialHost.Addr.String(): n / 2}
	if fmt.Sprint(peers) != fmt.Sprint(want) {
		t.Errorf("connections by client host %v, want %v", peers, want)
	}
	sw.Stop()
	swStopped = true
	exited(t, "dial-back agent", dialDone)
	// The ssh agent's session ends with its command stream: only sshd
	// itself is left in its host.
	waitUntil(t, "ssh agent gone", func() bool {
		pids, _ := sshHost.PIDs()
		return slices.Equal(pids, []int{sshdCmd.Process.Pid})
	})

	stopSSHD()
	srv.close()
	ctl.Close()
	hostsClosed = true
	if err := hosts.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := netns.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range left {
		if o, _ := netns.Owner(name); o == os.Getpid() {
			t.Errorf("namespace %s left behind", name)
		}
	}
	if got := mustLinks(t); !slices.Equal(got, linksBefore) {
		t.Errorf("links %v after the test, %v before", got, linksBefore)
	}
	if err := syscall.Kill(sshdCmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("sshd %d still there: %v", sshdCmd.Process.Pid, err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitListening waits until addr accepts a connection made from host.
func waitListening(t *testing.T, host netns.Host, addr netip.AddrPort, died <-chan error, log fmt.Stringer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-died:
			t.Fatalf("sshd exited: %v\n%s", err, log.String())
		default:
		}
		if c, err := host.Dial("tcp4", addr.String(), time.Second); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("sshd not listening on %v after 10s\n%s", addr, log.String())
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Errorf("%s: not within 10s", what)
}

func mustLinks(t *testing.T) []string {
	t.Helper()
	l, err := netns.Links()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
