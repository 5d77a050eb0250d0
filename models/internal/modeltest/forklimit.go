package modeltest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"c10klab/contract"
	"c10klab/runner/conformance"
)

// nobody is the user a fork-limited model runs as: RLIMIT_NPROC counts
// every task of the user, so the test needs one with none of its own.
const nobody = 65534

func asNobody() []string {
	return []string{"setpriv", fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups"}
}

// StartForkLimited starts bin as user nobody with RLIMIT_NPROC at limit,
// so that its forks can be made to fail. It skips without root, the tools
// or a nobody with no task of its own.
func StartForkLimited(t *testing.T, bin string, limit int) *conformance.Instance {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the model as another user")
	}
	for _, tool := range []string{"prlimit", "setpriv", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if n := TasksOfUID(nobody); n != 0 {
		t.Skipf("user nobody already runs %d tasks", n)
	}
	nproc := fmt.Sprintf("--nproc=%d:%d", limit, limit)
	return StartModel(t, conformance.Model{Bin: bin, Wrap: append([]string{"prlimit", nproc}, asNobody()...)})
}

// ForkRefused fills the rest of nobody's task limit with sleepers, so the
// model's next fork fails, then checks that a connection it cannot give a
// child is closed, that it reports fork EAGAIN, and that it serves again
// once the sleepers are gone. The model must be started by
// StartForkLimited with limit, and idle.
func ForkRefused(t *testing.T, p *conformance.Instance, limit int) {
	t.Helper()
	var fillers []*exec.Cmd
	stopFillers := func() {
		for _, f := range fillers {
			f.Process.Kill()
			f.Wait()
		}
		fillers = nil
	}
	defer stopFillers()
	as := asNobody()
	for range limit - TasksOfUID(nobody) {
		f := exec.Command(as[0], append(as[1:], "sleep", "60")...)
		if err := f.Start(); err != nil {
			t.Fatalf("start filler: %v", err)
		}
		fillers = append(fillers, f)
	}
	WaitFor(t, 3*time.Second, func() error {
		if n := TasksOfUID(nobody); n < limit {
			return fmt.Errorf("nobody runs %d tasks, want %d", n, limit)
		}
		return nil
	})

	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write([]byte("no child for me"))
	if n, err := c.Read(make([]byte, 32)); n > 0 || os.IsTimeout(err) {
		t.Fatalf("connection without a child: read %d bytes, %v; want it closed", n, err)
	}
	WaitFor(t, 3*time.Second, func() error {
		for _, r := range p.Reports() {
			if r.Kind == contract.KindFork && r.Errno == "EAGAIN" {
				return nil
			}
		}
		return fmt.Errorf("no fork EAGAIN report on stdout: %q", p.Stdout())
	})

	stopFillers()
	WaitFor(t, 3*time.Second, func() error {
		c, err := net.DialTimeout("tcp", p.Addr().String(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte("back"))
		got := make([]byte, 4)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "back" {
			return fmt.Errorf("after the fillers exited: %q, %v\nstderr: %s", got, err, p.Stderr())
		}
		return nil
	})
}
