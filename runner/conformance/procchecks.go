package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
)

// sigterm holds connections, sends SIGTERM to the model's process group as
// the runner does, and expects the leader and every process of its family
// (group members and descendants, also those that left the group) gone
// within StopBudget.
func sigterm(ctx context.Context, m Model, o Options) error {
	in, err := m.StartFree(ctx)
	if err != nil {
		return err
	}
	defer in.Kill()
	conns, err := DialEcho(ctx, in.Addr(), o.HoldConns, dialParallel)
	if err != nil {
		return fmt.Errorf("before SIGTERM: %w", err)
	}
	defer closeAll(conns)
	before, err := launch.Family(in.Pid())
	if err != nil {
		return err
	}

	start := time.Now()
	if err := in.signalGroup(syscall.SIGTERM); err != nil {
		return err
	}
	if !in.Wait(StopBudget) {
		return fmt.Errorf("pid %d still running %v after SIGTERM, holding %d connections%s",
			in.Pid(), StopBudget, len(conns), in.stderrTail())
	}
	took := time.Since(start)
	for {
		left, err := survivors(in.Pid(), before)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			break
		}
		if time.Since(start) > StopBudget {
			killAll(left)
			return fmt.Errorf("the model exited %v after SIGTERM, but %d of its processes outlived it by %v: %v",
				took.Round(time.Millisecond), len(left), StopBudget, left)
		}
		sleep(ctx, 10*time.Millisecond)
	}
	if err := in.ExitErr(); err != nil && !in.proc.DiedOf(syscall.SIGTERM) {
		return fmt.Errorf("exited %v after SIGTERM with %s, want status 0 (or death by SIGTERM)%s",
			took.Round(time.Millisecond), in.status(), in.stderrTail())
	}
	return nil
}

// survivors returns the processes of before still alive, and any process
// the group started since.
func survivors(pgid int, before []launch.Proc) ([]launch.Proc, error) {
	var left []launch.Proc
	known := map[int]bool{}
	for _, p := range before {
		known[p.PID] = true
		if launch.Alive(p) {
			left = append(left, p)
		}
	}
	now, err := launch.Family(pgid)
	if err != nil {
		return nil, err
	}
	for _, p := range now {
		if !known[p.PID] && p.State != 'Z' {
			left = append(left, p)
		}
	}
	return left, nil
}

// killAll SIGKILLs processes of a model's family that outlived it; the
// start time guards against a pid reused meanwhile.
func killAll(ps []launch.Proc) {
	for _, p := range ps {
		if launch.Alive(p) {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

// reuseConns is how many connections the SO_REUSEPORT check spreads over
// two instances: the kernel picks a listener by hashing each connection,
// so both get some but with probability 2^-23; even all of them on one
// instance stay well under the 40 the smallest real server holds.
const reuseConns = ConcurrentConns + 4

// reusePort starts two instances on one port with C10K_REUSEPORT=1 and
// expects each to serve some of the connections.
func reusePort(ctx context.Context, m Model, o Options) error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	var insts []*Instance
	defer func() {
		for _, in := range insts {
			in.Kill()
		}
	}()
	for i := range 2 {
		in, err := m.Start(ctx, addr, contract.EnvReusePort+"=1", contract.EnvInstance+"="+strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("instance %d of 2 on one port: %w", i, err)
		}
		insts = append(insts, in)
	}
	conns, err := DialEcho(ctx, addr, reuseConns, dialParallel)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var held []int
	// A model may take a moment to hand an accepted connection to the
	// process that serves it; every one was echoed, so it was accepted.
	for {
		held, err = connsPerInstance(addr.Port(), conns, insts)
		if err != nil {
			return err
		}
		if held[0]+held[1] == len(conns) || ctx.Err() != nil {
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	if held[0] == 0 || held[1] == 0 {
		return fmt.Errorf("of %d connections instance 0 holds %d and instance 1 holds %d: want both serving",
			len(conns), held[0], held[1])
	}
	if held[0]+held[1] != len(conns) {
		return fmt.Errorf("instances hold %d and %d of the %d echoed connections: the rest are held by neither",
			held[0], held[1], len(conns))
	}
	return nil
}

// connsPerInstance counts, for each instance, how many of conns have their
// server end in a process of that instance's family.
func connsPerInstance(port uint16, conns []*net.TCPConn, insts []*Instance) ([]int, error) {
	clients := map[uint16]bool{}
	for _, c := range conns {
		clients[c.LocalAddr().(*net.TCPAddr).AddrPort().Port()] = true
	}
	socks, err := launch.TCPSockets()
	if err != nil {
		return nil, err
	}
	served := map[string]bool{}
	for _, s := range socks {
		if s.State == launch.TCPEstablished && s.LocalPort == port && clients[s.RemotePort] {
			served[s.Inode] = true
		}
	}
	held := make([]int, len(insts))
	for i, in := range insts {
		fam, err := launch.Family(in.Pid())
		if err != nil {
			return nil, err
		}
		for inode := range launch.SocketInodes(fam) {
			if served[inode] {
				held[i]++
			}
		}
	}
	return held, nil
}

// exclusiveWait is how long a second instance on a taken port may take to
// fail.
const exclusiveWait = 3 * time.Second

// exclusivePort starts a second instance on the first one's port, both
// without SO_REUSEPORT: it must not get to listen (it may exit, as the Go
// models do, or keep trying).
func exclusivePort(ctx context.Context, m Model, o Options) error {
	first, err := m.StartFree(ctx, contract.EnvReusePort+"=0")
	if err != nil {
		return err
	}
	defer first.Kill()
	sctx, cancel := context.WithTimeout(ctx, exclusiveWait)
	defer cancel()
	second, err := m.Start(sctx, first.Addr(), contract.EnvReusePort+"=0", contract.EnvInstance+"=1")
	if err == nil {
		second.Kill()
		return fmt.Errorf("a second instance with %s=0 listens on %s beside the first: the model sets SO_REUSEPORT unasked", contract.EnvReusePort, first.Addr())
	}
	if err := EchoOnce(ctx, first.Addr(), []byte("first still serving?\n")); err != nil {
		return fmt.Errorf("first instance after a second one failed to start: %w", err)
	}
	return nil
}

// backlogWant is the backlog the check asks for: unusual, so it cannot be
// a default by chance.
const backlogWant = 123

// backlog starts the model with C10K_BACKLOG and reads its listener's
// backlog with ss(8), which shows it as Send-Q for a listening socket.
func backlog(ctx context.Context, m Model, o Options) error {
	if _, err := exec.LookPath("ss"); err != nil {
		return &SkipError{Reason: "ss (iproute2) not installed: cannot read a listener's backlog"}
	}
	want := backlogWant
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		if limit, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && limit < want {
			want = limit // the kernel caps it
		}
	}
	in, err := m.StartFree(ctx, contract.EnvBacklog+"="+strconv.Itoa(backlogWant))
	if err != nil {
		return err
	}
	defer in.Kill()
	got, err := ListenBacklogs(ctx, in.Addr())
	if err != nil {
		return err
	}
	if len(got) == 0 {
		return fmt.Errorf("ss shows no listener on %s", in.Addr())
	}
	for _, b := range got {
		if b != want {
			return fmt.Errorf("listener on %s has backlog %d, want %d (%s=%d); all listeners: %v",
				in.Addr(), b, want, contract.EnvBacklog, backlogWant, got)
		}
	}
	return nil
}

// ListenBacklogs returns the backlog of every listening socket on addr's
// port, read with ss(8).
func ListenBacklogs(ctx context.Context, addr netip.AddrPort) ([]int, error) {
	port := strconv.Itoa(int(addr.Port()))
	out, err := exec.CommandContext(ctx, "ss", "-Hltn", "sport = :"+port).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("ss: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("ss: %w", err)
	}
	var bs []int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line) // State Recv-Q Send-Q Local Peer
		if len(f) < 4 {
			continue
		}
		b, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("ss line %q: %w", line, err)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// cleanCloseQuiet: connections the client closes cleanly are not failures,
// so they must not produce failure reports (the runner would show them as
// server errors).
func cleanCloseQuiet(ctx context.Context, m Model, o Options) error {
	in, err := m.StartFree(ctx)
	if err != nil {
		return err
	}
	defer in.Kill()
	conns, err := DialEcho(ctx, in.Addr(), ConcurrentConns, dialParallel)
	if err != nil {
		return err
	}
	closeAll(conns)
	if _, err := HalfCloseEcho(ctx, in.Addr(), []byte("bye\n"), 0); err != nil {
		return fmt.Errorf("half-closed connection: %w", err)
	}
	sleep(ctx, 300*time.Millisecond)
	if reps := in.Reports(); len(reps) > 0 {
		return fmt.Errorf("%d failure reports after only clean closes, first %+v", len(reps), reps[0])
	}
	return nil
}
