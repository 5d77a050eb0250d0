package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/results"
)

// session is one server's replay while it runs.
type session struct {
	opt      *Options
	server   string
	dir, out string // the project's replay/ and the run folder
	tl       *results.Timeline
	sp       *space
	files    []io.Closer // the programs' output files, closed at the end
	start    time.Time   // the client's start

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
	appendRecord(s.tl, Record{Type: results.TypeEvent, Event: &results.Event{Time: time.Now(), Kind: kind, Msg: msg}})
	s.observe("%s", msg)
}

// create opens one of the programs' output files in the run folder,
// "replay-<server>.<suffix>", closed when the session ends.
func (s *session) create(suffix string) (*os.File, error) {
	f, err := os.Create(filepath.Join(s.out, "replay-"+s.server+"."+suffix))
	if err != nil {
		return nil, err
	}
	s.files = append(s.files, f)
	return f, nil
}

func (s *session) closeFiles() {
	for _, f := range s.files {
		f.Close()
	}
}

// run starts the server and the client, watches both until the replay
// ends, watches the server alone once the client is killed, and fills oc.
func (s *session) run(ctx context.Context, oc *Outcome) error {
	srv, srvPID, err := s.startServer(ctx, oc)
	if srv != nil {
		defer srv.kill()
	}
	if err != nil {
		return err
	}
	base, err := probe.ReadCountersOf(srvPID)
	if err != nil {
		return err
	}
	drops0, _ := softnetDrops()
	cli, cliErr, err := s.startClient(oc)
	if cli != nil {
		defer cli.kill()
	}
	if err != nil {
		return err
	}
	s.event("started", "%s server pid %d, client pid %d: %d threads to localhost:%d, open-files limit %d",
		s.server, srvPID, cli.Pid(), s.opt.Threads, s.opt.Port, oc.ClientNoFile)

	sm := &sampler{
		srv:    probe.NewTree(probe.TreeConfig{Roots: []int{srvPID}}),
		cli:    probe.NewTree(probe.TreeConfig{Roots: []int{cli.Pid()}}),
		srvPID: srvPID, port: s.opt.Port, base: base,
	}
	tick := time.NewTicker(s.opt.Interval)
	defer tick.Stop()
	samples, err := s.watch(ctx, tick, sm, srv, cli, oc)
	if err != nil {
		return err
	}
	oc.RunSeconds = time.Since(s.start).Seconds()
	drops1, _ := softnetDrops()
	oc.SoftnetDrops = drops1 - drops0
	oc.FileNr, _ = (&space{}).sysctl("fs.file-nr")

	// The client goes; the server stays and is watched: what do handlers
	// that only recv() do once their peer has closed?
	cli.kill()
	after, err := s.watchAfter(ctx, tick, sm, srv, oc)
	if err != nil {
		return err
	}
	srv.kill()
	oc.Finished = time.Now()
	oc.ClientStderrDropped = cliErr.dropped
	s.mu.Lock()
	exc := append([]Exception(nil), s.exceptions...)
	s.mu.Unlock()
	analyse(oc, append(samples, after...), exc)
	s.event("stopped", "%s: %s after %.0fs; every process stopped", s.server, oc.Stop, oc.RunSeconds)
	return nil
}

// startServer starts the server and waits until it listens. It returns
// the process started and the server's own PID (unshare's child when the
// server runs in a PID namespace).
//
// PYTHONUNBUFFERED: the handlers' prints reach the file as they did the
// author's terminal (a pipe would hold them in a buffer forever, since the
// handlers never return).
//
// unshare puts the server in a PID namespace of its own with --kill-child:
// if the runner dies without stopping it (SIGKILL), the server's leader
// dies by Pdeathsig, unshare kills the namespace's first process, and the
// kernel every other one in it, so no forked child is left spinning on
// recv() after its client has gone. Without root (no namespaces) the
// server runs directly.
func (s *session) startServer(ctx context.Context, oc *Outcome) (*proc, int, error) {
	srvOut, err := s.create("stdout")
	if err != nil {
		return nil, 0, err
	}
	srvErr, err := s.create("stderr")
	if err != nil {
		return nil, 0, err
	}
	name, _ := script(s.server)
	argv := []string{s.opt.Python, filepath.Join(s.dir, "original", name)}
	pidns := os.Geteuid() == 0
	if pidns {
		argv = append([]string{"unshare", "--pid", "--kill-child=SIGKILL"}, argv...)
	}
	srv, err := startProc(s.sp.argv(argv...), []string{s.portEnv(), "PYTHONUNBUFFERED=1"}, srvOut, srvErr)
	if err != nil {
		return nil, 0, err
	}
	if s.opt.ServerNoFile > 0 {
		if err := setNoFile(srv.Pid(), s.opt.ServerNoFile); err != nil {
			return srv, 0, err
		}
	}
	srvPID := srv.Pid()
	if pidns {
		if srvPID, err = waitChild(ctx, srv); err != nil {
			return srv, 0, fmt.Errorf("%w (stderr: %s)", err, srv.stderr)
		}
	}
	oc.ServerNoFile, _ = noFileOf(srvPID)
	if err := waitListening(ctx, srv, srvPID, s.opt.Port); err != nil {
		return srv, 0, fmt.Errorf("%w (stderr: %s)", err, srv.stderr)
	}
	oc.Backlog, oc.BacklogErr = listenBacklog(ctx, s.sp, s.opt.Port)
	return srv, srvPID, nil
}

// startClient starts the original client under its open-files limit; its
// stdout is the thread wrapper's exception reports, its stderr the
// tracebacks, capped.
func (s *session) startClient(oc *Outcome) (*proc, *capped, error) {
	errFile, err := s.create("client-stderr")
	if err != nil {
		return nil, nil, err
	}
	cliErr := &capped{w: errFile, n: 1 << 20}
	s.start = time.Now()
	cli, err := startProc(s.sp.argv(s.opt.Python, filepath.Join(s.dir, "original", "client.py")),
		[]string{s.portEnv(), "REPLAY_SOCKETS=" + strconv.Itoa(s.opt.Threads)}, &lines{on: s.exception}, cliErr)
	if err != nil {
		return nil, cliErr, err
	}
	s.clientPID.Store(int64(cli.Pid()))
	if err := setNoFile(cli.Pid(), s.opt.ClientNoFile); err != nil {
		return cli, cliErr, err
	}
	oc.ClientNoFile, _ = noFileOf(cli.Pid())
	oc.Started = s.start
	return cli, cliErr, nil
}

func (s *session) portEnv() string { return "REPLAY_PORT=" + strconv.Itoa(int(s.opt.Port)) }

// watch samples both sides every tick until the replay ends, and sets
// oc.Stop to why it did.
func (s *session) watch(ctx context.Context, tick *time.Ticker, sm *sampler, srv, cli *proc, oc *Outcome) ([]Sample, error) {
	var samples []Sample
	lastChange := s.start
	oc.Stop = StopDuration
	for {
		select {
		case <-ctx.Done():
			oc.Stop = StopInterrupted
			return samples, nil
		case <-tick.C:
		}
		smp, err := sm.sample(PhaseRun, s)
		if err != nil {
			return samples, err
		}
		moved := len(samples) == 0 || changed(&samples[len(samples)-1], &smp)
		samples = append(samples, smp)
		appendRecord(s.tl, Record{Type: results.TypeSample, Sample: &smp})
		if moved {
			lastChange = time.Now()
		}
		// A line when something moved, and every 10 s regardless.
		if moved || len(samples)%10 == 0 {
			s.observe("%3.0fs  server %d procs %d threads  client %d threads %d fds  estab %d  syn-sent %d  queue %d  exceptions %d",
				smp.Elapsed, smp.Server.Procs, smp.Server.Threads, smp.Client.Threads, smp.Client.FDs,
				smp.Sockets.ClientEstab, smp.Sockets.SynSent, smp.Sockets.AcceptQueue, smp.Exceptions)
		}
		switch {
		case srv.Exited():
			oc.Stop = StopServerExited
			s.event("server_exited", "the server exited: %v (stderr: %s)", srv.exitErr(), srv.stderr)
			return samples, nil
		case cli.Exited():
			oc.Stop = StopClientExited
			s.event("client_exited", "the client exited: %v", cli.exitErr())
			return samples, nil
		case time.Since(s.start) >= s.opt.Duration:
			return samples, nil
		case time.Since(lastChange) >= s.opt.Quiet && settled(&smp):
			oc.Stop = StopSettled
			return samples, nil
		}
	}
}

// watchAfter samples the server for opt.After once the client is gone.
func (s *session) watchAfter(ctx context.Context, tick *time.Ticker, sm *sampler, srv *proc, oc *Outcome) ([]Sample, error) {
	if ctx.Err() != nil || srv.Exited() || s.opt.After <= 0 {
		return nil, nil
	}
	s.event("client_killed", "client killed after %.0fs; watching the server for %v", oc.RunSeconds, s.opt.After)
	var samples []Sample
	for t0 := time.Now(); time.Since(t0) < s.opt.After; {
		select {
		case <-ctx.Done():
			return samples, nil
		case <-tick.C:
		}
		smp, err := sm.sample(PhaseAfter, s)
		if err != nil {
			return samples, err
		}
		samples = append(samples, smp)
		appendRecord(s.tl, Record{Type: results.TypeSample, Sample: &smp})
		s.observe("%3.0fs  after: server %d procs %d threads, cpu %.2f s", smp.Elapsed, smp.Server.Procs,
			smp.Server.Threads, serverCPU(smp))
	}
	return samples, nil
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
	appendRecord(s.tl, Record{Type: "exception", Exception: &e})
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
		if srv.Exited() {
			return fmt.Errorf("the server exited before it listened: %v", srv.exitErr())
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

// listenBacklog reads the listener's backlog (ss Send-Q) in the space.
func listenBacklog(ctx context.Context, sp *space, port uint16) (int, string) {
	out, err := sp.command(ctx, "ss", "-Hltn", "sport = :"+strconv.Itoa(int(port))).Output()
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
func readSysctls(sp *space) map[string]int64 {
	m := map[string]int64{}
	for _, k := range []string{
		"net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_syncookies",
		"net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_max_syn_backlog",
	} {
		if v, err := sp.sysctl(k); err == nil {
			m[k] = v
		}
	}
	// Global, not per namespace: read in the host's.
	for _, k := range []string{"fs.file-max", "net.core.netdev_max_backlog"} {
		if v, err := (&space{}).sysctl(k); err == nil {
			m[k] = v
		}
	}
	return m
}
