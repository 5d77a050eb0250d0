package modelkit

import (
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
)

// Work is the contract's work per request (C10K_WORK, C10K_SIZE).
type Work = contract.Work

// LoadWork reads C10K_WORK and C10K_SIZE from the environment; the zero
// Work (no variable set) is a pure echo.
func LoadWork() (Work, error) { return contract.ParseWork(os.Getenv) }

// Burn uses d of the calling thread's CPU time, spinning on the thread's
// CPU clock: the same work on any machine and in any language, with no
// calibration. The goroutine is locked to its thread for the spin, so the
// clock it reads is the clock of the thread it runs on: were it preempted
// and resumed on another thread, the first clock would no longer advance.
// While the goroutine is preempted its thread runs nothing else (it is
// locked) and its clock stands still, so time spent waiting for a CPU is
// not counted as work done. A goroutine already locked stays locked.
func Burn(d time.Duration) {
	if d <= 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	for threadCPU()-start < d {
	}
}

// threadCPU is the calling thread's CPU time. Reading it is a system call
// (0.76 µs here, BenchmarkThreadCPU), which is itself CPU the thread uses,
// so the spin overshoots D by at most about one read.
func threadCPU() time.Duration {
	var ts unix.Timespec
	// It cannot fail for this clock on Linux.
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// Block sleeps d in nanosleep(2) on the calling thread: the blocking call a
// naive handler makes. In an event loop's goroutine it stalls the loop,
// which is the point. Go's runtime sees a system call and may hand the
// goroutine's P to another thread after 20 µs, so other goroutines still
// run: for a goroutine per connection that is Go's own remedy, not the
// model's.
func Block(d time.Duration) {
	if d <= 0 {
		return
	}
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for {
		var rem unix.Timespec
		err := unix.Nanosleep(&ts, &rem)
		if err != unix.EINTR {
			return // nanosleep fails otherwise only for a bad argument
		}
		ts = rem // Go preempts with signals: sleep what is left
	}
}

// OnThread does the part of w that runs on the handling thread, in the
// contract's order: cpu=, then block=. The caller then waits w.Wait in
// its own idiom and echoes.
func OnThread(w Work) {
	Burn(w.CPU)
	Block(w.Block)
}

// Framer cuts a connection's byte stream into requests of Size bytes,
// keeping the bytes of an incomplete request until the rest arrives.
type Framer struct {
	size    int
	partial []byte
}

// NewFramer frames requests of size bytes (at least 1).
func NewFramer(size int) *Framer {
	return &Framer{size: max(size, 1), partial: make([]byte, 0, max(size, 1))}
}

// Feed takes the bytes read and returns the requests they complete, in
// order. Each request is a slice of its own, which the caller may keep;
// p is not retained.
func (f *Framer) Feed(p []byte) [][]byte {
	var reqs [][]byte
	if len(f.partial) > 0 {
		n := min(f.size-len(f.partial), len(p))
		f.partial = append(f.partial, p[:n]...)
		p = p[n:]
		if len(f.partial) < f.size {
			return nil
		}
		reqs = append(reqs, f.partial)
		f.partial = make([]byte, 0, f.size)
	}
	for len(p) >= f.size {
		reqs = append(reqs, append([]byte(nil), p[:f.size]...))
		p = p[f.size:]
	}
	f.partial = append(f.partial, p...)
	return reqs
}

// Rest returns the bytes of the incomplete request and forgets them: what
// is echoed as it is when the client half-closes.
func (f *Framer) Rest() []byte {
	r := f.partial
	f.partial = make([]byte, 0, f.size)
	if len(r) == 0 {
		return nil
	}
	return r
}

// Serial feeds p to fr and handles each request it completes, in order, on
// the calling goroutine: cpu= and block= here (OnThread), wait= through
// wait (the model's own idiom: time.Sleep in a goroutine, Block on a
// thread of its own), then the echo through echo. It stops at the first
// echo that fails and returns its error.
func Serial(fr *Framer, w Work, p []byte, wait func(time.Duration), echo func([]byte) error) error {
	for _, req := range fr.Feed(p) {
		OnThread(w)
		if w.Wait > 0 {
			wait(w.Wait)
		}
		if err := echo(req); err != nil {
			return err
		}
	}
	return nil
}
