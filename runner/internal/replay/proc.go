package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
	"c10klab/runner/internal/launch"
	"c10klab/runner/internal/procfs"
	"c10klab/runner/internal/procutil"
)

// proc is a program the replay started through package launch: the leader
// of a process group of its own, so that it and every process it forks
// are stopped together, with the tail of its stderr.
type proc struct {
	*launch.Process
	stderr *procutil.Tail
}

// startProc starts argv with env added; stdout goes to out, stderr to
// errFile and a tail. The programs replayed read none of the contract's
// variables: the contract's are left empty.
func startProc(argv, env []string, out, errFile io.Writer) (*proc, error) {
	tail := procutil.NewTail(20)
	p, err := launch.Start(launch.Config{
		Argv: argv, Contract: contract.Config{}, Env: env,
		Stdout: out, Stderr: io.MultiWriter(tail, errFile),
	})
	if err != nil {
		return nil, err
	}
	return &proc{Process: p, stderr: tail}, nil
}

// kill stops the whole process group with SIGKILL and reaps the leader.
// The programs replayed have no shutdown of their own (serve_forever, a
// thread per connection in an endless loop), so there is nothing gentler
// to ask for.
func (p *proc) kill() { p.Kill() }

// exitErr is how the leader ended, once it has.
func (p *proc) exitErr() error { return p.Err() }

// waitChild returns the PID of p's child once it has one: the server that
// unshare forked and executed.
func waitChild(ctx context.Context, p *proc) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p.Exited() {
			return 0, fmt.Errorf("the server exited at once: %v", p.exitErr())
		}
		fam, _ := launch.Family(p.Pid())
		for _, c := range fam {
			if c.PPID == p.Pid() {
				return c.PID, nil
			}
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

// lines passes each line written to it to on, without its newline: the
// client's stdout, one JSON report a line.
type lines struct {
	on      func([]byte)
	partial []byte
}

// maxLine bounds a line kept while waiting for its end; the client's
// reports are a few hundred bytes.
const maxLine = 1 << 20

func (w *lines) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.on(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLine {
		w.partial = w.partial[:0] // not a report: too long
	}
	return len(p), nil
}

// setNoFile sets the process's open-files limit, soft and hard. Called
// right after the start: nsenter and the Python interpreter take
// milliseconds before the client opens its first socket, and the limit
// stays across exec.
func setNoFile(pid, n int) error {
	lim := unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		return fmt.Errorf("set open-files limit of pid %d to %d: %w", pid, n, err)
	}
	return nil
}

// noFileOf reads a process's soft open-files limit as the kernel holds it.
func noFileOf(pid int) (int, error) {
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		return 0, fmt.Errorf("read open-files limit of pid %d: %w", pid, err)
	}
	return int(lim.Cur), nil
}

// capped writes at most n bytes to w and counts the rest: a client whose
// 10,000 threads each print a traceback must not fill the disk.
type capped struct {
	w       io.Writer
	n       int64
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	if c.n <= 0 {
		c.dropped += int64(len(p))
		return len(p), nil
	}
	q := p
	if int64(len(q)) > c.n {
		q = q[:c.n]
	}
	k, err := c.w.Write(q)
	c.n -= int64(k)
	c.dropped += int64(len(p) - k)
	return len(p), err
}

// softnetDrops is the packets dropped because a CPU's input queue was
// full, summed over the CPUs (procfs.ParseSoftnetDrops).
func softnetDrops() (int64, error) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0, err
	}
	return procfs.ParseSoftnetDrops(b)
}
