package probe

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the processes it measures: with
// PROBE_HELPER set it runs the named role instead of the tests.
const helperEnv = "PROBE_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lifetime bounds every helper, so nothing outlives a crashed test.
const lifetime = 60 * time.Second

func helperCmd(role string, args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), helperEnv+"="+role)
	c.Stderr = os.Stderr
	return c
}

// startAndWaitReady starts c and waits for its first stdout line, "ready".
func startAndWaitReady(c *exec.Cmd) (*bufio.Reader, error) {
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != "ready\n" {
		return nil, fmt.Errorf("%s: want ready, got %q (%v)", c.Path, line, err)
	}
	return r, nil
}

func runHelper(role string, args []string) error {
	switch role {
	case "leaf":
		fmt.Println("ready")
		time.Sleep(lifetime)
	case "mid": // start a leaf, then exit so it is orphaned
		leaf := helperCmd("leaf")
		if _, err := startAndWaitReady(leaf); err != nil {
			return err
		}
		fmt.Println("ready")
	case "spin":
		d, _ := time.ParseDuration(args[0])
		spin(d)
		fmt.Println("ready")
	case "sleeps": // start N `sleep` children, for the benchmark
		n, _ := strconv.Atoi(args[0])
		for range n {
			c := exec.Command("/bin/sleep", strconv.Itoa(int(lifetime.Seconds())))
			if err := c.Start(); err != nil {
				return err
			}
			go c.Wait()
		}
		fmt.Println("ready")
		time.Sleep(lifetime)
	case "root":
		return runRoot()
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

// spin burns d of CPU time (not wall time: on a busy machine the two
// differ), giving up after 10 s.
func spin(d time.Duration) {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= d {
			return
		}
	}
}

// runRoot starts two leaves and an orphaned leaf, then obeys commands on
// stdin, answering each with "ok".
func runRoot() error {
	for range 2 {
		if _, err := startAndWaitReady(helperCmd("leaf")); err != nil {
			return err
		}
	}
	mid := helperCmd("mid")
	r, err := startAndWaitReady(mid)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r)
	if err := mid.Wait(); err != nil {
		return fmt.Errorf("mid: %w", err)
	}
	fmt.Println("ready")
	var keep []*os.File
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "fds":
			n, _ := strconv.Atoi(arg)
			for range n {
				f, err := os.Open("/dev/null")
				if err != nil {
					return err
				}
				keep = append(keep, f)
			}
		case "threads":
			n, _ := strconv.Atoi(arg)
			locked := make(chan struct{})
			for range n {
				go func() {
					runtime.LockOSThread()
					locked <- struct{}{}
					select {}
				}()
			}
			for range n {
				<-locked
			}
		case "spin":
			d, _ := time.ParseDuration(arg)
			spin(d)
		case "childspin":
			c := helperCmd("spin", arg)
			if out, err := c.Output(); err != nil || string(out) != "ready\n" {
				return fmt.Errorf("childspin: %q %v", out, err)
			}
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		fmt.Println("ok")
	}
	// The opened files must stay open (reachable) until the helper ends:
	// a collected *os.File closes its descriptor and the count falls.
	runtime.KeepAlive(keep)
	return nil
}

// helperTree is a running "root" helper in its own process group.
type helperTree struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startTree starts a helper of role in a new process group and kills the
// whole group when the test ends.
func startTree(t testing.TB, role string, args ...string) *helperTree {
	t.Helper()
	c := helperCmd(role, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := startAndWaitReady(c)
	if err != nil {
		if c.Process != nil {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		in.Close()
		c.Wait()
	})
	return &helperTree{cmd: c, in: in, out: out}
}

func (h *helperTree) do(t testing.TB, command string) {
	t.Helper()
	if _, err := fmt.Fprintln(h.in, command); err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	line, err := h.out.ReadString('\n')
	if err != nil || line != "ok\n" {
		t.Fatalf("%s: want ok, got %q (%v)", command, line, err)
	}
}
