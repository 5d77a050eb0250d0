// Package replay runs the original experiment behind c10klab as it was
// written: the question's client (a thread per connection, the host by
// name, never reading) against its ForkingMixIn and ThreadingMixIn servers
// (handlers that only recv(), Python's defaults), ported to Python 3 where
// the language demands it (replay/original/). It records both sides and the
// kernel about once a second, then explains each server's failures from
// what was measured: which side, and by which mechanism. It prints
// nothing; callers watch through Options.Observe.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/sysenv"
)

// Servers are the original's two servers, in the order it tried them.
var Servers = []string{"forked", "threaded"}

// Options is one replay's settings.
type Options struct {
	Root       string // the project: replay/ is found here
	ResultsDir string
	Python     string // the interpreter; Debian's, whose packages the models use
	Servers    []string
	Command    []string

	Threads      int           // client threads (SOCKET_AMOUNT)
	ClientNoFile int           // the client's open-files limit, as the original's ~4,096
	ServerNoFile int           // the servers' open-files limit; 0: inherited
	Port         uint16        // on 127.0.0.1, by the name "localhost"
	Duration     time.Duration // the longest a server's replay runs
	// Quiet ends a server's replay early once nothing has changed for this
	// long: no new exception, no connect() still waiting, no unacknowledged
	// data, the client's threads steady.
	Quiet time.Duration
	// After is how long the server is watched once the client is gone.
	After time.Duration
	// Netns runs each server and its client in a network namespace of
	// their own (root): counters and port space no one else touches.
	Netns bool
	// SynRetries, when positive, sets net.ipv4.tcp_syn_retries inside the
	// replay's namespace (never the host's): a shorter connect() timeout
	// for a short replay. 0 leaves the kernel's default.
	SynRetries int
	Interval   time.Duration // sampling

	// Observe, when set, receives progress lines.
	Observe func(server, line string)
}

// Defaults are the settings of `c10klab replay`: the original's numbers.
// Duration covers the kernel's default connect() timeout (tcp_syn_retries
// 6: 127 s) and the time the client's threads then take to raise their
// exceptions one at a time under the GIL, so connections whose SYNs the
// server's kernel drops end inside the replay, as they did for the
// original's author.
func Defaults() Options {
	return Options{
		Python:       "/usr/bin/python3",
		Servers:      Servers,
		Threads:      10000,
		ClientNoFile: 4096,
		Port:         9999,
		Duration:     180 * time.Second,
		Quiet:        10 * time.Second,
		After:        5 * time.Second,
		Netns:        true,
		Interval:     time.Second,
	}
}

// Validate checks the settings before anything starts.
func (o *Options) Validate() error {
	switch {
	case len(o.Servers) == 0:
		return fmt.Errorf("no servers to replay")
	case o.Threads <= 0:
		return fmt.Errorf("--threads %d must be positive", o.Threads)
	case o.ClientNoFile < 16:
		return fmt.Errorf("--client-nofile %d: the interpreter needs a few descriptors of its own", o.ClientNoFile)
	case o.Duration < 5*time.Second:
		return fmt.Errorf("--duration %v: at least 5s", o.Duration)
	case o.Quiet <= 0 || o.After < 0 || o.Interval <= 0:
		return fmt.Errorf("--quiet, --after and the interval must be positive")
	case o.Port == 0:
		return fmt.Errorf("--port 0")
	}
	for _, s := range o.Servers {
		if _, err := script(s); err != nil {
			return err
		}
	}
	return nil
}

func script(server string) (string, error) {
	switch server {
	case "forked":
		return "forked_server.py", nil
	case "threaded":
		return "threaded_server.py", nil
	}
	return "", fmt.Errorf("unknown server %q: want forked or threaded", server)
}

// Replay is replay.json: what was run, on what machine, and each server's
// outcome and verdict.
type Replay struct {
	ID       string              `json:"id"`
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished,omitzero"`
	Command  []string            `json:"command"`
	Config   Config              `json:"config"`
	Env      results.Environment `json:"env"`
	Probe    Probe               `json:"probe"`
	Outcomes []Outcome           `json:"outcomes"`
	// Measure is the folder of the swarm's run of the same servers, when
	// one was made.
	Measure string `json:"measure,omitempty"`
}

// Config is the replay's settings as recorded.
type Config struct {
	Threads      int           `json:"threads"`
	ClientNoFile int           `json:"client_nofile"`
	ServerNoFile int           `json:"server_nofile,omitempty"`
	Addr         string        `json:"addr"`
	Host         string        `json:"host"`
	Duration     time.Duration `json:"duration"`
	Quiet        time.Duration `json:"quiet"`
	After        time.Duration `json:"after"`
	Netns        bool          `json:"netns"`
	SynRetries   int           `json:"syn_retries,omitempty"`
	Python       string        `json:"python"`
}

// Probe is what replay/probe.py found about this machine's Python and C
// library.
type Probe struct {
	Python           string `json:"python"`
	Libc             string `json:"libc"`
	MaxChildren      int    `json:"max_children"`
	RequestQueueSize int    `json:"request_queue_size"`
	ExhaustedErrno   int    `json:"exhausted_errno"`
	// GetAddrInfo is getaddrinfo("localhost") with no descriptor left, as
	// the client's connect() calls it.
	GetAddrInfo struct {
		RC       int    `json:"rc"`
		Name     string `json:"name"`
		Errno    int    `json:"errno"`
		Strerror string `json:"strerror"`
	} `json:"getaddrinfo"`
	PythonRaises *struct {
		Type  string `json:"type"`
		Errno *int   `json:"errno"`
	} `json:"python_raises"`
}

// Run replays each server in turn and writes the run folder, which it
// returns with the replay. When ctx is cancelled it stops every process it
// started and returns what was measured with ctx's error.
func Run(ctx context.Context, opt Options) (string, *Replay, error) {
	if err := opt.Validate(); err != nil {
		return "", nil, err
	}
	dir := filepath.Join(opt.Root, "replay")
	if err := preflight(&opt, dir); err != nil {
		return "", nil, err
	}
	pr, err := runProbe(ctx, opt.Python, filepath.Join(dir, "probe.py"))
	if err != nil {
		return "", nil, err
	}
	out, rep, err := newReplay(&opt, pr)
	if err != nil {
		return out, rep, err
	}
	var errs []error
	for _, s := range opt.Servers {
		oc, err := replayServer(ctx, &opt, dir, out, s, pr)
		if oc != nil {
			oc.Verdict = Judge(oc, pr)
			rep.Outcomes = append(rep.Outcomes, *oc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
		if werr := writeJSON(filepath.Join(out, ReplayFile), rep); werr != nil {
			errs = append(errs, werr)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.Finished = time.Now()
	errs = append(errs, writeJSON(filepath.Join(out, ReplayFile), rep), WriteReport(out, rep))
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return out, rep, errors.Join(errs...)
}

// preflight checks what the replay needs before anything starts: the
// original programs, the interpreter, and namespaces or a free port.
func preflight(opt *Options, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "original", "client.py")); err != nil {
		return fmt.Errorf("the original programs: %w", err)
	}
	if _, err := os.Stat(opt.Python); err != nil {
		return fmt.Errorf("python: %w", err)
	}
	if opt.Netns {
		if err := netns.Available(); err != nil {
			return fmt.Errorf("network namespace: %w (--netns=false runs in the host's namespace)", err)
		}
		return nil
	}
	if opt.SynRetries > 0 {
		return fmt.Errorf("--syn-retries needs --netns: the host's settings are not changed")
	}
	return model.CheckPortFree(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), opt.Port))
}

// newReplay makes the run folder and writes replay.json's first version.
func newReplay(opt *Options, pr Probe) (string, *Replay, error) {
	env, err := sysenv.Read()
	if err != nil {
		return "", nil, fmt.Errorf("read environment: %w", err)
	}
	start := time.Now()
	id, out, err := results.NewRunDir(opt.ResultsDir, start, "-replay")
	if err != nil {
		return "", nil, err
	}
	rep := &Replay{
		ID: id, Started: start, Command: opt.Command, Env: env, Probe: pr,
		Config: Config{
			Threads: opt.Threads, ClientNoFile: opt.ClientNoFile, ServerNoFile: opt.ServerNoFile,
			Addr: "127.0.0.1:" + strconv.Itoa(int(opt.Port)), Host: "localhost",
			Duration: opt.Duration, Quiet: opt.Quiet, After: opt.After,
			Netns: opt.Netns, SynRetries: opt.SynRetries, Python: opt.Python,
		},
	}
	return out, rep, writeJSON(filepath.Join(out, ReplayFile), rep)
}

func runProbe(ctx context.Context, python, path string) (Probe, error) {
	var p Probe
	b, err := exec.CommandContext(ctx, python, path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return p, fmt.Errorf("probe %s: %w: %s", path, err, ee.Stderr)
		}
		return p, fmt.Errorf("probe %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("probe %s: %w", path, err)
	}
	return p, nil
}

// replayServer runs one server and the client against it in a space of
// their own, and returns what was measured.
func replayServer(ctx context.Context, opt *Options, dir, out, server string, pr Probe) (oc *Outcome, err error) {
	tl, err := createRecords(out, server)
	if err != nil {
		return nil, err
	}
	defer tl.Close()
	sp, err := openSpace(opt.Netns)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, sp.close()) }()
	if opt.SynRetries > 0 {
		if err := sp.setSysctl("net.ipv4.tcp_syn_retries", int64(opt.SynRetries)); err != nil {
			return nil, err
		}
	}
	s := &session{opt: opt, server: server, dir: dir, out: out, tl: tl, sp: sp}
	defer s.closeFiles()
	name, _ := script(server)
	oc = &Outcome{Server: server, Script: filepath.Join("replay", "original", name), Threads: opt.Threads, CPUs: runtime.NumCPU()}
	oc.Sysctls = readSysctls(sp)
	return oc, s.run(ctx, oc)
}
