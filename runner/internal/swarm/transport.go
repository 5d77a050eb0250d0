package swarm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"c10klab/runner/internal/pin"
	"c10klab/runner/internal/procutil"
)

// A Launcher starts one agent and returns the runner's end of its control
// stream. The protocol (protocol.go) is the same over every transport: JSON
// lines of Command to the agent, of Status from it, and the end of the
// command stream asks the agent to close its connections and exit.
type Launcher interface {
	Launch(ac AgentConfig) (*Link, error)
}

// Link is the runner's end of one agent's control stream.
type Link struct {
	Commands io.WriteCloser // closing it asks the agent to stop
	Statuses io.Reader
	// Where names the agent in messages: its transport and process.
	Where string
	// PID is the local process the runner started for the agent (the
	// agent itself over a pipe, the ssh client over ssh); 0 for an agent
	// that dialled in.
	PID    int
	Local  bool // PID is the agent itself, so its costs are the swarm's
	wait   func() error
	kill   func()
	stderr *procutil.Tail
}

// Wait returns once the agent is gone, after Statuses has ended.
func (l *Link) Wait() error { return l.wait() }

// Kill ends the agent without waiting for it to stop by itself.
func (l *Link) Kill() { l.kill() }

// Stderr is the tail of what the agent (or its ssh client) wrote there.
func (l *Link) Stderr() string {
	if l.stderr == nil {
		return ""
	}
	return l.stderr.String()
}

// Pipe starts agents on this host as child processes talking over their
// stdin and stdout: `Exe agent ...`.
type Pipe struct {
	Exe  string
	CPUs []int // pin the agents here; empty: no pinning
	// Wrap, when set, rewrites the command line, e.g. to start the agent
	// inside a test host's network namespace (netns.Host.Wrap).
	Wrap func(argv []string) []string
	// Src and SrcCount, when set, replace the agents' source addresses:
	// SrcCount consecutive addresses of the host the agents run in.
	Src      netip.Addr
	SrcCount int
}

// Launch starts one agent.
func (p Pipe) Launch(ac AgentConfig) (*Link, error) {
	if p.Src.IsValid() {
		ac.Src, ac.SrcCount = p.Src, max(p.SrcCount, 1)
	}
	argv := append([]string{p.Exe, "agent"}, ac.Args()...)
	if p.Wrap != nil {
		argv = p.Wrap(argv)
	}
	l, err := startProcess(argv, p.CPUs)
	if err != nil {
		return nil, err
	}
	l.Local = true
	l.Where = fmt.Sprintf("pid %d", l.PID)
	return l, nil
}

// startProcess runs argv with its stdin and stdout as the control stream.
func startProcess(argv []string, cpus []int) (*Link, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// Own process group: Ctrl-C in the terminal reaches the runner only,
	// which then stops agents in order. Pdeathsig: a crashed runner leaves
	// no agent behind (over ssh, the remote agent then sees its stdin end).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tail := procutil.NewTail(20)
	cmd.Stderr = tail
	if err := pin.Start(cmd, cpus); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	return &Link{
		Commands: stdin, Statuses: stdout, PID: pid, stderr: tail,
		wait: cmd.Wait,
		kill: func() { procutil.KillGroup(pid) },
	}, nil
}

// SSH starts agents on another host with ssh, the same c10klab binary
// copied there first (Copy). The agent's stdin and stdout travel over the
// ssh session; ending the session ends the agent.
type SSH struct {
	Host       string // address (or name from the user's host list)
	User       string // empty: ssh's default
	Port       int    // 0: 22
	Key        string // identity file; empty: ssh's default
	KnownHosts string // known-hosts file; empty: ssh's default
	ConfigFile string // ssh_config to read (-F); empty: ssh's default
	Exe        string // c10klab's path on the host, e.g. /tmp/c10klab
	Options    []string
	// Wrap, when set, rewrites the local ssh and scp command lines, e.g.
	// to run them inside a test host's namespace.
	Wrap func(argv []string) []string
	// Src and SrcCount: the host's addresses to connect from; unset: the
	// route's choice.
	Src      netip.Addr
	SrcCount int
}

func (s SSH) target() string {
	if s.User != "" {
		return s.User + "@" + s.Host
	}
	return s.Host
}

// common are the options of both ssh and scp: never prompt, and check the
// host's key against the file given.
func (s SSH) common() []string {
	var opts []string
	if s.ConfigFile != "" {
		opts = append(opts, "-F", s.ConfigFile)
	}
	opts = append(opts, "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
	if s.Key != "" {
		opts = append(opts, "-i", s.Key, "-o", "IdentitiesOnly=yes")
	}
	if s.KnownHosts != "" {
		opts = append(opts, "-o", "UserKnownHostsFile="+s.KnownHosts, "-o", "StrictHostKeyChecking=yes")
	}
	for _, o := range s.Options {
		opts = append(opts, "-o", o)
	}
	return opts
}

func (s SSH) wrap(argv []string) []string {
	if s.Wrap != nil {
		return s.Wrap(argv)
	}
	return argv
}

// Copy puts the local c10klab binary at s.Exe on the host.
func (s SSH) Copy(localExe string) error {
	argv := append([]string{"scp", "-q", "-p"}, s.common()...)
	if s.Port != 0 {
		argv = append(argv, "-P", strconv.Itoa(s.Port))
	}
	argv = s.wrap(append(argv, localExe, s.target()+":"+s.Exe))
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("swarm: copy %s to %s:%s: %w: %s", localExe, s.target(), s.Exe, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Launch starts one agent on the host.
func (s SSH) Launch(ac AgentConfig) (*Link, error) {
	if s.Src.IsValid() {
		ac.Src, ac.SrcCount = s.Src, max(s.SrcCount, 1)
	}
	argv := append([]string{"ssh", "-T"}, s.common()...)
	if s.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(s.Port))
	}
	// ssh hands the remote command to the user's shell as one string.
	remote := []string{shellQuote(s.Exe), "agent"}
	for _, a := range ac.Args() {
		remote = append(remote, shellQuote(a))
	}
	argv = s.wrap(append(argv, s.target(), "--", strings.Join(remote, " ")))
	l, err := startProcess(argv, nil)
	if err != nil {
		return nil, err
	}
	l.Where = fmt.Sprintf("ssh %s (ssh pid %d)", s.target(), l.PID)
	return l, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Control is the runner's control listener: agents started elsewhere
// (`c10klab agent --control ADDR ...`, by hand, over a cluster) dial it, and
// each Launch takes the next one that does. The agents carry their own
// configuration in their flags (DialBackArgs renders them); Launch only
// waits for them.
type Control struct {
	ln      net.Listener
	Timeout time.Duration // how long Launch waits for an agent; 0: a minute
	accepts chan accepted
	once    sync.Once
}

type accepted struct {
	c   net.Conn
	err error
}

// ListenControl opens a control listener on addr (ip:port; port 0 picks one).
func ListenControl(addr string) (*Control, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("swarm: control listener: %w", err)
	}
	return NewControl(ln), nil
}

// NewControl serves agents on a listener the caller opened, e.g. one made
// inside a test host (netns.Host.Listen).
func NewControl(ln net.Listener) *Control {
	c := &Control{ln: ln, accepts: make(chan accepted)}
	go func() {
		for {
			conn, err := ln.Accept()
			c.accepts <- accepted{conn, err}
			if err != nil {
				return
			}
		}
	}()
	return c
}

// Addr is the address agents dial.
func (c *Control) Addr() netip.AddrPort { return netip.MustParseAddrPort(c.ln.Addr().String()) }

// Launch waits for the next agent to dial in.
func (c *Control) Launch(ac AgentConfig) (*Link, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	select {
	case a := <-c.accepts:
		if a.err != nil {
			return nil, fmt.Errorf("swarm: control %v: %w", c.Addr(), a.err)
		}
		tc := a.c.(*net.TCPConn)
		return &Link{
			Commands: halfCloser{tc}, Statuses: tc,
			Where: fmt.Sprintf("tcp from %v", tc.RemoteAddr()),
			wait:  tc.Close, kill: func() { tc.Close() },
		}, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("swarm: no agent dialled control %v within %v (want one for index %d)", c.Addr(), timeout, ac.Index)
	}
}

// Close stops listening; agents already connected keep their links.
func (c *Control) Close() error {
	err := c.ln.Close()
	// Drain the accept loop's last report so its goroutine ends.
	c.once.Do(func() {
		go func() {
			for a := range c.accepts {
				if a.err != nil {
					return
				}
				a.c.Close() // dialled in after Close: nobody takes it
			}
		}()
	})
	return err
}

// halfCloser ends only the command direction, so the agent's final status
// still arrives after it was asked to stop.
type halfCloser struct{ *net.TCPConn }

func (h halfCloser) Close() error { return h.CloseWrite() }

// DialBackArgs is the command line (after the binary) of an agent that
// dials the control address: for whoever starts agents elsewhere.
func DialBackArgs(ac AgentConfig, control netip.AddrPort) []string {
	return append([]string{"agent", "--control", control.String()}, ac.Args()...)
}

// DialControl connects an agent to the runner's control address, retrying
// until wait has passed: an agent may start before the runner listens.
func DialControl(addr string, wait time.Duration) (*net.TCPConn, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("agent: dial control %s: %w", addr, err)
		}
		time.Sleep(time.Second)
	}
}

// RunAgentControl runs an agent whose control stream is a TCP connection
// to the runner, and closes it when the agent is done.
func RunAgentControl(cfg AgentConfig, conn *net.TCPConn) error {
	err := RunAgent(cfg, conn, conn)
	return errors.Join(err, conn.Close())
}
