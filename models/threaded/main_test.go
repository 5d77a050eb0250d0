package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"c10klab/models/internal/modeltest"
	"c10klab/runner/conformance"
)

// The contract (echo, half-close, reset, SIGTERM, SO_REUSEPORT, backlog) is
// checked for every model by runner/conformance; these are the threaded
// model's own behaviours.

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

// Each held connection must hold a thread of its own, and give it back when
// it closes.
func TestEchoThreadPerConnection(t *testing.T) {
	const n = 150
	p := modeltest.Start(t, bin)
	conns := modeltest.DialEcho(t, p.Addr(), n)

	modeltest.EchoRound(t, conns)

	threads, err := modeltest.StatusField(p.Pid(), "Threads")
	if err != nil {
		t.Fatal(err)
	}
	if threads < n {
		t.Fatalf("%d connections held by %d threads; want a thread each", n, threads)
	}
	for _, c := range conns {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err := modeltest.StatusField(p.Pid(), "Threads")
		if err != nil {
			t.Fatal(err)
		}
		if after < n/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads still %d after closing all %d connections (were %d)", after, n, threads)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fewProcs overrides the model's 256 Ps for tests with a small thread cap:
// with 256 Ps the runtime's own threads (GC workers) alone can pass it.
const fewProcs = "GOMAXPROCS=2"

// Past Go's own cap the runtime aborts with the lines the README documents.
func TestGoThreadCapAborts(t *testing.T) {
	p := modeltest.Start(t, bin, "C10K_THREAD_LIMIT=30", fewProcs)
	holdUntilDeath(t, p, 60)
	for _, want := range []string{
		"threaded: Go thread cap 30 (C10K_THREAD_LIMIT)",
		"runtime: program exceeds 30-thread limit",
		"fatal error: thread exhaustion",
	} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("stderr lacks %q:\n%.2000s", want, p.Stderr())
		}
	}
}

// When the kernel refuses a thread (here RLIMIT_NPROC for an unprivileged
// user; pid_max or pids.max alike) the runtime aborts with EAGAIN, in the
// words of the cgo or the pure-Go runtime depending on how it was built.
func TestKernelRefusesThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the model as another user")
	}
	for _, tool := range []string{"prlimit", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	p := modeltest.StartModel(t, conformance.Model{Bin: bin, Wrap: []string{"prlimit", "--nproc=40:40",
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}}, fewProcs)
	holdUntilDeath(t, p, 80)
	stderr := p.Stderr()
	if !strings.Contains(stderr, "from RLIMIT_NPROC (ulimit -u)") {
		t.Errorf("start-up line does not name RLIMIT_NPROC:\n%.500s", stderr)
	}
	cgo := "runtime/cgo: pthread_create failed: Resource temporarily unavailable"
	pure := "runtime: failed to create new OS thread (have "
	if !strings.Contains(stderr, cgo) &&
		!(strings.Contains(stderr, pure) && strings.Contains(stderr, "errno=11)")) {
		t.Errorf("stderr names neither %q nor %q:\n%.2000s", cgo, pure, stderr)
	}
}

// holdUntilDeath opens up to n connections, each echoed, until the model
// dies, and fails the test if it survives them all.
func holdUntilDeath(t *testing.T, p *conformance.Instance, n int) {
	t.Helper()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.DialTimeout("tcp", p.Addr().String(), time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			break
		}
		if _, err := c.Read(make([]byte, 1)); err != nil {
			break
		}
	}
	if !p.Wait(5 * time.Second) {
		t.Fatalf("model survived %d connections", len(conns))
	}
	t.Logf("model died after %d connections: %v", len(conns), p.ExitErr())
}

func TestThreadCapFromEnv(t *testing.T) {
	tests := []struct {
		env     string
		set     bool
		max     int
		wantErr bool
	}{
		{env: "go", set: false, max: goDefaultMaxThreads},
		{env: "500", set: true, max: 500},
		{env: "0", wantErr: true},
		{env: "lots", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(EnvThreadLimit, tt.env)
			tc, err := threadCapFromEnv()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (tc.set != tt.set || tc.max != tt.max) {
				t.Fatalf("got %+v, want set=%v max=%d", tc, tt.set, tt.max)
			}
		})
	}
	t.Run("system", func(t *testing.T) {
		t.Setenv(EnvThreadLimit, "")
		tc, err := threadCapFromEnv()
		if err != nil || !tc.set {
			t.Fatalf("got %+v, %v", tc, err)
		}
		pidMax, err := readInt("/proc/sys/kernel/pid_max")
		if err != nil {
			t.Fatal(err)
		}
		if tc.max > pidMax+capMargin {
			t.Fatalf("cap %d above kernel.pid_max %d + margin", tc.max, pidMax)
		}
	})
}

// systemThreadLimit picks the smallest limit, cgroup pids.max included.
func TestSystemThreadLimit(t *testing.T) {
	tests := []struct {
		name     string
		cgroup   string            // /proc/self/cgroup
		files    map[string]string // under the cgroup root
		threads  string
		pidMax   string
		want     int
		wantFrom string
	}{
		{name: "pid_max", cgroup: "8:pids:/\n", threads: "192730", pidMax: "32768",
			want: 32768, wantFrom: "kernel.pid_max"},
		{name: "threads-max", cgroup: "8:pids:/\n", threads: "1000", pidMax: "32768",
			want: 1000, wantFrom: "kernel.threads-max"},
		{name: "v1 pids.max on a parent", cgroup: "4:memory:/x\n8:pids:/a/b\n",
			files:   map[string]string{"pids/a/pids.max": "700", "pids/a/b/pids.max": "max"},
			threads: "192730", pidMax: "32768", want: 700, wantFrom: "pids/a/pids.max"},
		{name: "v2 pids.max", cgroup: "0::/svc\n",
			files:   map[string]string{"svc/pids.max": "4242"},
			threads: "192730", pidMax: "32768", want: 4242, wantFrom: "svc/pids.max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := sysPaths{proc: filepath.Join(root, "proc"), cgroup: filepath.Join(root, "cg")}
			files := map[string]string{
				filepath.Join(p.proc, "self/cgroup"):            tt.cgroup,
				filepath.Join(p.proc, "sys/kernel/threads-max"): tt.threads,
				filepath.Join(p.proc, "sys/kernel/pid_max"):     tt.pidMax,
			}
			for f, v := range tt.files {
				files[filepath.Join(p.cgroup, f)] = v
			}
			for f, v := range files {
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte(v+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, from := systemThreadLimit(p)
			if got != tt.want || !strings.HasSuffix(from, tt.wantFrom) {
				t.Fatalf("got %d from %q, want %d from %q", got, from, tt.want, tt.wantFrom)
			}
		})
	}
}
