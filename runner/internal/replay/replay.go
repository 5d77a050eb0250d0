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
	"sync"
	"sync/atomic"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/probe"
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
	if _, err := os.Stat(filepath.Join(dir, "original", "client.py")); err != nil {
		return "", nil, fmt.Errorf("the original programs: %w", err)
	}
	if _, err := os.Stat(opt.Python); err != nil {
		return "", nil, fmt.Errorf("python: %w", err)
	}
	if opt.Netns {
		if err := netnsSupported(); err != nil {
			return "", nil, fmt.Errorf("network namespace: %w (--netns=false runs in the host's namespace)", err)
		}
	} else {
		if opt.SynRetries > 0 {
			return "", nil, fmt.Errorf("--syn-retries needs --netns: the host's settings are not changed")
		}
		if err := model.CheckPortFree(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), opt.Port)); err != nil {
			return "", nil, err
		}
	}
	pr, err := runProbe(ctx, opt.Python, filepath.Join(dir, "probe.py"))
	if err != nil {
		return "", nil, err
	}
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
	if err := writeJSON(filepath.Join(out, ReplayFile), rep); err != nil {
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

// session is one server's replay while it runs.
type session struct {
	opt    *Options
	server string
	w      *writer
	ns     *netns
	start  time.Time // the client's start

	mu         sync.Mutex
	exceptions []Exception
	clientFDs  atomic.Int64
	clientPID  atomic.Int64
}

func (s *session) observe(format string, args ...any) {
	if s.opt.Observe != nil {
		s.opt.Observe(s.server, fmt.Sprintf(format, args...))
	}
}

func (s *session) event(kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.w.append(Record{Type: "event", Event: &Event{Time: time.Now(), Kind: kind, Msg: msg}})
	s.observe("%s", msg)
}

// replayServer runs one server and the client against it, and returns
// what was measured.
func replayServer(ctx context.Context, opt *Options, dir, out, server string, pr Probe) (oc *Outcome, err error) {
	name, _ := script(server)
	w, err := createWriter(RecordsPath(out, server))
	if err != nil {
		return nil, err
	}
	defer w.close()
	s := &session{opt: opt, server: server, w: w, ns: &netns{}}
	if opt.Netns {
		removeStale(ctx)
		if s.ns, err = newNetns(ctx, fmt.Sprintf("%s%d-%s", netnsPrefix, os.Getpid(), server)); err != nil {
			return nil, err
		}
		defer func() {
			if rerr := s.ns.remove(); rerr != nil && err == nil {
				err = rerr
			}
		}()
		if opt.SynRetries > 0 {
			if err := s.ns.setSysctl(ctx, "net.ipv4.tcp_syn_retries", int64(opt.SynRetries)); err != nil {
				return nil, err
			}
		}
	}
	oc = &Outcome{Server: server, Script: filepath.Join("replay", "original", name), Threads: opt.Threads, CPUs: runtime.NumCPU()}
	oc.Sysctls = readSysctls(ctx, s.ns)

	srvOut, err := os.Create(filepath.Join(out, "replay-"+server+".stdout"))
	if err != nil {
		return oc, err
	}
	defer srvOut.Close()
	srvErr, err := os.Create(filepath.Join(out, "replay-"+server+".stderr"))
	if err != nil {
		return oc, err
	}
	defer srvErr.Close()
	portEnv := "REPLAY_PORT=" + strconv.Itoa(int(opt.Port))
	// PYTHONUNBUFFERED: the handlers' prints reach the file as they did the
	// author's terminal (a pipe would hold them in a buffer forever, since
	// the handlers never return).
	//
	// unshare puts the server in a PID namespace of its own with
	// --kill-child: if the runner dies without stopping it (SIGKILL), the
	// server's leader dies by Pdeathsig, unshare kills the namespace's
	// first process, and the kernel every other one in it, so no forked
	// child is left spinning on recv() after its client has gone.
	// Without root (no namespaces) the server runs directly.
	argv := []string{opt.Python, filepath.Join(dir, "original", name)}
	pidns := os.Geteuid() == 0
	if pidns {
		argv = append([]string{"unshare", "--pid", "--kill-child=SIGKILL"}, argv...)
	}
	srv, err := startProc(s.ns.argv(argv...), []string{portEnv, "PYTHONUNBUFFERED=1"}, srvOut, nil, srvErr)
	if err != nil {
		return oc, err
	}
	defer srv.kill()
	if opt.ServerNoFile > 0 {
		if err := setNoFile(srv.pid, opt.ServerNoFile); err != nil {
			return oc, err
		}
	}
	// The server itself is unshare's child.
	srvPID := srv.pid
	if pidns {
		if srvPID, err = waitChild(ctx, srv); err != nil {
			return oc, fmt.Errorf("%w (stderr: %s)", err, srv.stderr)
		}
	}
	oc.ServerNoFile, _ = noFileOf(srvPID)
	if err := waitListening(ctx, srv, srvPID, opt.Port); err != nil {
		return oc, fmt.Errorf("%w (stderr: %s)", err, srv.stderr)
	}
	oc.Backlog, oc.BacklogErr = listenBacklog(ctx, s.ns, opt.Port)

	base, err := probe.ReadCountersOf(srvPID)
	if err != nil {
		return oc, err
	}
	drops0, _ := softnetDrops()

	cliErrFile, err := os.Create(filepath.Join(out, "replay-"+server+".client-stderr"))
	if err != nil {
		return oc, err
	}
	defer cliErrFile.Close()
	cliErr := &capped{w: cliErrFile, n: 1 << 20}
	s.start = time.Now()
	cli, err := startProc(s.ns.argv(opt.Python, filepath.Join(dir, "original", "client.py")),
		[]string{portEnv, "REPLAY_SOCKETS=" + strconv.Itoa(opt.Threads)}, nil, s.exception, cliErr)
	if err != nil {
		return oc, err
	}
	defer cli.kill()
	s.clientPID.Store(int64(cli.pid))
	if err := setNoFile(cli.pid, opt.ClientNoFile); err != nil {
		return oc, err
	}
	oc.ClientNoFile, _ = noFileOf(cli.pid)
	oc.Started = s.start
	s.event("started", "%s server pid %d, client pid %d: %d threads to localhost:%d, open-files limit %d",
		server, srvPID, cli.pid, opt.Threads, opt.Port, oc.ClientNoFile)

	sm := &sampler{
		srv:    probe.NewTree(probe.TreeConfig{Roots: []int{srvPID}}),
		cli:    probe.NewTree(probe.TreeConfig{Roots: []int{cli.pid}}),
		srvPID: srvPID, port: opt.Port, base: base,
	}
	var samples []Sample
	tick := time.NewTicker(opt.Interval)
	defer tick.Stop()
	var lastChange time.Time = s.start
	var prev *Sample
	oc.Stop = StopDuration
run:
	for {
		select {
		case <-ctx.Done():
			oc.Stop = StopInterrupted
			break run
		case <-tick.C:
		}
		smp, err := sm.sample(PhaseRun, s)
		if err != nil {
			return oc, err
		}
		samples = append(samples, smp)
		s.w.append(Record{Type: "sample", Sample: &smp})
		moved := prev == nil || changed(prev, &smp)
		if moved {
			lastChange = time.Now()
		}
		// A line when something moved, and every 10 s regardless.
		if moved || len(samples)%10 == 0 {
			s.observe("%3.0fs  server %d procs %d threads  client %d threads %d fds  estab %d  syn-sent %d  queue %d  exceptions %d",
				smp.Elapsed, smp.Server.Procs, smp.Server.Threads, smp.Client.Threads, smp.Client.FDs,
				smp.Sockets.ClientEstab, smp.Sockets.SynSent, smp.Sockets.AcceptQueue, smp.Exceptions)
		}
		prev = &samples[len(samples)-1]
		switch {
		case srv.exited():
			oc.Stop = StopServerExited
			s.event("server_exited", "the server exited: %v (stderr: %s)", srv.err, srv.stderr)
			break run
		case cli.exited():
			oc.Stop = StopClientExited
			s.event("client_exited", "the client exited: %v", cli.err)
			break run
		case time.Since(s.start) >= opt.Duration:
			break run
		case time.Since(lastChange) >= opt.Quiet && settled(&smp):
			oc.Stop = StopSettled
			break run
		}
	}
	oc.RunSeconds = time.Since(s.start).Seconds()
	drops1, _ := softnetDrops()
	oc.SoftnetDrops = drops1 - drops0
	oc.FileNr, _ = readInt("/proc/sys/fs/file-nr")

	// The client goes; the server stays and is watched: what do handlers
	// that only recv() do once their peer has closed?
	cli.kill()
	if ctx.Err() == nil && !srv.exited() && opt.After > 0 {
		s.event("client_killed", "client killed after %.0fs; watching the server for %v", oc.RunSeconds, opt.After)
		t0 := time.Now()
		for time.Since(t0) < opt.After {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
			if ctx.Err() != nil {
				break
			}
			smp, err := sm.sample(PhaseAfter, s)
			if err != nil {
				return oc, err
			}
			samples = append(samples, smp)
			s.w.append(Record{Type: "sample", Sample: &smp})
			s.observe("%3.0fs  after: server %d procs %d threads, cpu %.2f s", smp.Elapsed, smp.Server.Procs,
				smp.Server.Threads, smp.Server.CPUUser+smp.Server.CPUSys)
		}
	}
	srv.kill()
	oc.Finished = time.Now()
	oc.ClientStderrDropped = cliErr.dropped
	s.mu.Lock()
	exc := append([]Exception(nil), s.exceptions...)
	s.mu.Unlock()
	analyse(oc, samples, exc)
	s.event("stopped", "%s: %s after %.0fs; every process stopped", server, oc.Stop, oc.RunSeconds)
	return oc, nil
}

// exception records one line of the client's stdout.
func (s *session) exception(line []byte) {
	var e Exception
	if json.Unmarshal(line, &e) != nil || e.Type == "" {
		return // the original prints nothing; anything else is not a report
	}
	e.Elapsed = e.Time - float64(s.start.UnixNano())/1e9
	// The client's descriptors now: since Linux 6.2 stat(2) of /proc/PID/fd
	// gives their count; before, the latest sample's count stands in.
	e.ClientFDs = int(s.clientFDs.Load())
	if pid := s.clientPID.Load(); pid > 0 {
		if fi, err := os.Stat("/proc/" + strconv.Itoa(int(pid)) + "/fd"); err == nil && fi.Size() > 0 {
			e.ClientFDs = int(fi.Size())
		}
	}
	s.mu.Lock()
	s.exceptions = append(s.exceptions, e)
	s.mu.Unlock()
	s.w.append(Record{Type: "exception", Exception: &e})
}

func (s *session) exceptionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.exceptions)
}

// changed reports whether anything the replay waits on moved.
func changed(a, b *Sample) bool {
	return a.Exceptions != b.Exceptions || a.Client.Threads != b.Client.Threads ||
		a.Sockets.SynSent != b.Sockets.SynSent || a.Sockets.ClientEstab != b.Sockets.ClientEstab ||
		a.Server.Procs != b.Server.Procs
}

// settled: nothing left that the kernel will still resolve by itself.
func settled(s *Sample) bool {
	return s.Sockets.SynSent == 0 && s.Sockets.SynRecv == 0 && s.Sockets.Unacked == 0
}

func waitListening(ctx context.Context, srv *proc, pid int, port uint16) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if srv.exited() {
			return fmt.Errorf("the server exited before it listened: %v", srv.err)
		}
		if s, err := readSockets(pid, port); err == nil && s.Listening {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not listen on port %d within 10s", port)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitChild returns the PID of p's child once it has one: the server that
// unshare forked and executed.
func waitChild(ctx context.Context, p *proc) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p.exited() {
			return 0, fmt.Errorf("the server exited at once: %v", p.err)
		}
		if kids := childrenOf(p.pid); len(kids) > 0 {
			return kids[0], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the server did not start within 10s")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// listenBacklog reads the listener's backlog (ss Send-Q) in the namespace.
func listenBacklog(ctx context.Context, ns *netns, port uint16) (int, string) {
	out, err := ns.command(ctx, "ss", "-Hltn", "sport = :"+strconv.Itoa(int(port))).Output()
	if err != nil {
		return 0, fmt.Sprintf("ss: %v", err)
	}
	b, err := parseSSBacklog(out)
	if err != nil {
		return 0, err.Error()
	}
	return b, ""
}

// readSysctls reads the settings that decide what the kernel does with
// handshakes a listener cannot queue (per namespace), and the three the
// original's author changed.
func readSysctls(ctx context.Context, ns *netns) map[string]int64 {
	m := map[string]int64{}
	for _, k := range []string{
		"net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_syncookies",
		"net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_max_syn_backlog",
	} {
		if v, err := ns.sysctl(ctx, k); err == nil {
			m[k] = v
		}
	}
	// Global, not per namespace.
	for _, k := range []string{"fs.file-max", "net.core.netdev_max_backlog"} {
		if v, err := readInt("/proc/sys/" + filepathOf(k)); err == nil {
			m[k] = v
		}
	}
	return m
}

func filepathOf(sysctl string) string {
	b := []byte(sysctl)
	for i := range b {
		if b[i] == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}
