package swarm

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// Args renders cfg as the command-line flags of `c10klab agent`.
func (c AgentConfig) Args() []string {
	args := []string{
		"--index", strconv.Itoa(c.Index),
		"--addr", c.Addr.String(),
		"--interval", c.Interval.String(),
		"--deadline", c.Deadline.String(),
		"--connect-timeout", c.ConnectTimeout.String(),
		"--size", strconv.Itoa(c.MsgSize),
		"--rate", strconv.Itoa(c.Rate),
		"--inflight", strconv.Itoa(c.MaxInFlight),
		"--nofile", strconv.Itoa(c.NoFile),
	}
	if c.RampDoubling > 0 {
		args = append(args, "--ramp-doubling", c.RampDoubling.String(), "--ramp-from", strconv.Itoa(c.RampFrom))
	}
	if c.Src.IsValid() {
		args = append(args, "--src", c.Src.String(), "--src-count", strconv.Itoa(c.SrcCount))
	}
	return args
}

// ParseAgentFlags is the inverse of Args, for the agent subcommand.
func ParseAgentFlags(args []string, errOut io.Writer) (AgentConfig, error) {
	c, _, err := ParseAgentCommand(args, errOut)
	return c, err
}

// ParseAgentCommand parses the agent subcommand's flags: the configuration
// and, with --control, the runner's control address to dial (empty: the
// commands come on stdin and the statuses go to stdout).
func ParseAgentCommand(args []string, errOut io.Writer) (AgentConfig, string, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, `usage: c10klab agent [flags]

A swarm agent: the runner starts several, each holding up to its open-files
limit of connections to the model in one epoll loop. It reads commands
({"target":N}) as JSON lines on stdin and writes one status a second as a
JSON line on stdout. It exits when stdin closes. With --control it dials the
runner's control address instead and speaks the same lines over that TCP
connection: an agent started on another host, by hand or by a cluster.

`)
		fs.PrintDefaults()
	}
	var c AgentConfig
	addr := fs.String("addr", "127.0.0.1:9999", "model address, ip:port")
	fs.IntVar(&c.Index, "index", 0, "agent number (0..200); agent i binds source addresses 127.(16+i).x.y")
	fs.DurationVar(&c.Interval, "interval", time.Second, "time between messages on a connection")
	fs.DurationVar(&c.Deadline, "deadline", time.Second, "an echo later than this counts as failed (at most --interval)")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 5*time.Second, "a connect not completed in this time fails with ETIMEDOUT")
	fs.IntVar(&c.MsgSize, "size", 16, "message size in bytes")
	fs.IntVar(&c.Rate, "rate", 10000, "connections opened per second")
	fs.IntVar(&c.MaxInFlight, "inflight", 4096, "connects pending at once")
	fs.DurationVar(&c.RampDoubling, "ramp-doubling", 0, "start each ramp doubling the connections held every this long, until that reaches --rate (0: at --rate from the start)")
	fs.IntVar(&c.RampFrom, "ramp-from", 0, "with --ramp-doubling: the count the doubling starts from, at least")
	fs.IntVar(&c.NoFile, "nofile", 0, "lower the agent's own open-files limit to this (0: raise it to the hard limit)")
	src := fs.String("src", "", "first of this host's source addresses to spread connections over (default: 127.(16+index).x.y toward loopback, the route's choice otherwise)")
	fs.IntVar(&c.SrcCount, "src-count", 1, "with --src: how many consecutive source addresses")
	control := fs.String("control", "", "dial the runner's control address ip:port instead of reading stdin")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil {
		return c, "", fmt.Errorf("agent: --addr %q: %w (want ip:port; host names are never resolved)", *addr, err)
	}
	c.Addr = ap
	if *src != "" {
		if c.Src, err = netip.ParseAddr(*src); err != nil {
			return c, "", fmt.Errorf("agent: --src %q: %w", *src, err)
		}
	} else {
		c.SrcCount = 0
	}
	if *control != "" {
		if _, err := netip.ParseAddrPort(*control); err != nil {
			return c, "", fmt.Errorf("agent: --control %q: %w (want ip:port)", *control, err)
		}
	}
	return c, *control, c.Validate()
}
