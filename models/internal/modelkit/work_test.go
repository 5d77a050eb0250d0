package modelkit

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Burn uses at least d of the thread's CPU, which the process's CPU time
// shows too; only lower bounds and a generous upper one, since a busy
// machine stretches the wall time but not the CPU used.
func TestBurn(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
		runtime.LockOSThread()
		th0, p0 := threadCPU(), processCPU(t)
		Burn(d)
		th1, p1 := threadCPU(), processCPU(t)
		runtime.UnlockOSThread()
		if th1-th0 < d {
			t.Errorf("Burn(%v) used %v of the thread's CPU", d, th1-th0)
		}
		if p1-p0 < d {
			t.Errorf("Burn(%v) used %v of the process's CPU", d, p1-p0)
		}
		if p1-p0 > 2*d+20*time.Millisecond {
			t.Errorf("Burn(%v) used %v of the process's CPU, far more than asked", d, p1-p0)
		}
	}
	// An already locked goroutine stays locked: the model's loop keeps its
	// thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	Burn(time.Millisecond)
	runtime.Gosched()
	if got := unix.Gettid(); got != tid {
		t.Fatalf("after Burn the locked goroutine runs on thread %d, was %d", got, tid)
	}
}

// Block sleeps on the thread: at least d of wall time, next to no CPU.
func TestBlock(t *testing.T) {
	const d = 30 * time.Millisecond
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, w0 := threadCPU(), time.Now()
	Block(d)
	c1, took := threadCPU(), time.Since(w0)
	if took < d {
		t.Errorf("Block(%v) returned after %v", d, took)
	}
	if c1-c0 > 10*time.Millisecond {
		t.Errorf("Block(%v) used %v of the thread's CPU: it should sleep", d, c1-c0)
	}
}

func TestOnThread(t *testing.T) {
	w := Work{CPU: 5 * time.Millisecond, Block: 20 * time.Millisecond, Size: 4}
	p0, w0 := processCPU(t), time.Now()
	OnThread(w)
	if cpu := processCPU(t) - p0; cpu < w.CPU {
		t.Errorf("OnThread used %v of CPU, want at least %v", cpu, w.CPU)
	}
	if took := time.Since(w0); took < w.CPU+w.Block {
		t.Errorf("OnThread took %v, want at least %v", took, w.CPU+w.Block)
	}
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		reads []string
		want  []string // requests in order
		rest  string
	}{
		{"exact", 4, []string{"abcd"}, []string{"abcd"}, ""},
		{"several in one read", 2, []string{"aabbc"}, []string{"aa", "bb"}, "c"},
		{"one request over reads", 4, []string{"a", "bc", "d"}, []string{"abcd"}, ""},
		{"straddling", 3, []string{"ab", "cdefg", "hi"}, []string{"abc", "def", "ghi"}, ""},
		{"partial left", 16, []string{"hello"}, nil, "hello"},
		{"size one", 1, []string{"xyz"}, []string{"x", "y", "z"}, ""},
		{"empty reads", 2, []string{"", "a", "", "b"}, []string{"ab"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFramer(tt.size)
			var got [][]byte
			for _, r := range tt.reads {
				buf := []byte(r)
				got = append(got, f.Feed(buf)...)
				// The caller's buffer is reused for the next read: requests
				// must not alias it.
				for i := range buf {
					buf[i] = '!'
				}
			}
			var gs []string
			for _, g := range got {
				gs = append(gs, string(g))
			}
			if !slices.Equal(gs, tt.want) {
				t.Fatalf("requests %q, want %q", gs, tt.want)
			}
			if rest := f.Rest(); !bytes.Equal(rest, []byte(tt.rest)) || (tt.rest == "" && rest != nil) {
				t.Fatalf("rest %q, want %q", rest, tt.rest)
			}
			if again := f.Rest(); again != nil {
				t.Fatalf("Rest twice gave %q", again)
			}
		})
	}
}

// A request kept by the caller stays intact while the framer goes on.
func TestFramerRequestsAreTheirs(t *testing.T) {
	f := NewFramer(3)
	first := f.Feed([]byte("ab"))
	reqs := f.Feed([]byte("cdef"))
	more := f.Feed([]byte("ghi"))
	if len(first) != 0 || len(reqs) != 2 || len(more) != 1 {
		t.Fatalf("got %q %q %q", first, reqs, more)
	}
	if string(reqs[0]) != "abc" || string(reqs[1]) != "def" || string(more[0]) != "ghi" {
		t.Fatalf("requests changed: %q %q", reqs, more)
	}
}

func BenchmarkThreadCPU(b *testing.B) {
	for b.Loop() {
		threadCPU()
	}
}
