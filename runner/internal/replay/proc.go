package replay

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procutil"
)

// proc is a process the replay started, leader of a process group of its
// own, so that it and every process it forks are stopped together.
type proc struct {
	cmd    *exec.Cmd
	pid    int
	stderr *procutil.Tail
	done   chan struct{} // closed when the process has been reaped
	err    error         // Wait's error, set before done closes
}

// startProc starts argv with env added. stdout goes to onLine, a line at a
// time (nil: to the file out), stderr to errFile (capped) and a tail.
func startProc(argv, env []string, out io.Writer, onLine func([]byte), errFile io.Writer) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// Pdeathsig: if the runner dies, the leader dies with it; the group is
	// killed by Stop on every normal path.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{cmd: cmd, stderr: procutil.NewTail(20), done: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(p.stderr, errFile)
	var stdout io.ReadCloser
	if onLine != nil {
		var err error
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	} else {
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		if stdout != nil {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				onLine(sc.Bytes())
			}
			io.Copy(io.Discard, stdout) // a line too long for the scanner: keep draining
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited (and been reaped).
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill stops the whole process group with SIGKILL and reaps the leader.
// The programs replayed have no shutdown of their own (serve_forever, a
// thread per connection in an endless loop), so there is nothing gentler
// to ask for.
func (p *proc) kill() {
	procutil.KillGroup(p.pid)
	<-p.done
}

// setNoFile sets the process's open-files limit, soft and hard. Called
// right after the start: `ip netns exec` and the Python interpreter take
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

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; count from ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// readInt reads the first number of a /proc file.
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s: empty", path)
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// softnetDrops sums the second column of /proc/net/softnet_stat: packets
// dropped because a CPU's input queue (net.core.netdev_max_backlog) was
// full. Loopback traffic passes through that queue too.
func softnetDrops() (int64, error) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0, err
	}
	var total int64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("softnet_stat: %w", err)
		}
		total += v
	}
	return total, nil
}
