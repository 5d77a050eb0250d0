package netns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// EnvHosts carries the hosts' description to a command run inside the
// server host (RunInServer), as JSON.
const EnvHosts = "C10K_NETNS_HOSTS"

type described struct {
	Server  Host   `json:"server"`
	Clients []Host `json:"clients"`
	Owner   int    `json:"owner"`
}

// RunInServer makes a server host and n client hosts, runs argv inside the
// server host with the hosts described in its environment (Inside reads
// them), waits for it and removes every namespace, whatever way it ended.
//
// A process inside the server host sees the server's own kernel counters
// in /proc/net (listen overflows, sockstat), dials the model at the
// server's address as a local one, starts the model there simply by
// starting it, and starts agents in the client hosts with Host.Wrap. So
// `bench --hosts N` is the same run, re-executed in the server host.
//
// Ctrl-C reaches both processes (one process group): argv stops its run
// and exits, then the namespaces go. If this process dies, argv dies with
// it (Pdeathsig) and the next Create sweeps the namespaces.
func RunInServer(n int, s Settings, argv []string, stdout, stderr io.Writer) (exit int, err error) {
	hosts, err := Create(n, s)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, hosts.Close()) }()
	desc, err := json.Marshal(described{Server: hosts.Server, Clients: hosts.Clients, Owner: hosts.owner})
	if err != nil {
		return 0, err
	}
	wrapped := hosts.Server.Wrap(argv)
	cmd := exec.Command(wrapped[0], wrapped[1:]...)
	cmd.Env = append(os.Environ(), EnvHosts+"="+string(desc))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("netns: start %v in %s: %w", argv, hosts.Server.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGTERM {
				cmd.Process.Signal(sig) // SIGINT from a terminal reached it already
			}
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode(), nil
			}
			return 0, err
		}
	}
}

// Inside returns the hosts RunInServer described to this process, and
// false when it was not started that way. The hosts belong to the process
// that made them: Close on them does nothing.
func Inside() (*Hosts, bool, error) {
	v := os.Getenv(EnvHosts)
	if v == "" {
		return nil, false, nil
	}
	var d described
	if err := json.Unmarshal([]byte(v), &d); err != nil {
		return nil, false, fmt.Errorf("netns: %s: %w", EnvHosts, err)
	}
	return &Hosts{Server: d.Server, Clients: d.Clients, owner: d.Owner, switchNS: switchName(d.Owner), borrowed: true}, true, nil
}

// MachinePath is the network namespace of the machine, for reading what
// only it shows (machine-wide sysctls): the owner's, when this process was
// started inside a server host by RunInServer (the owner is outside, and
// PID 1's namespace may be closed to us), else this process's own main
// thread's (which Do may have moved for a moment; only a process started
// inside a host needs the fallback, and it has an owner).
func MachinePath() string {
	if h, ok, err := Inside(); ok && err == nil && h.owner > 0 {
		return fmt.Sprintf("/proc/%d/ns/net", h.owner)
	}
	return "/proc/self/ns/net"
}
