package modelkit

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/contract"
)

// Report kinds a model may emit (see package contract).
const (
	KindAccept  = contract.KindAccept
	KindThread  = contract.KindThread
	KindFork    = contract.KindFork
	KindForkCap = contract.KindForkCap
	KindRead    = contract.KindRead
	KindWrite   = contract.KindWrite
)

// Report is one JSON line on stdout, the contract's wire form.
type Report = contract.Report

type reportKey struct{ kind, errno string }

type pending struct {
	count int64
	conns int64
	msg   string
}

// Reporter writes failure reports, coalescing repeats: the first event of a
// kind and errno is written at once, later ones are summed and written at
// most once a second. A model failing accept() in a tight loop must not
// flood the runner or spend its CPU on logging.
type Reporter struct {
	model    string
	instance int

	mu      sync.Mutex
	out     io.Writer
	enc     *json.Encoder
	last    map[reportKey]time.Time
	pending map[reportKey]*pending
	stop    chan struct{}
	done    chan struct{}
}

// NewReporter writes to stdout and flushes coalesced reports every second.
func NewReporter(model string, cfg Config) *Reporter {
	return newReporter(model, cfg.Instance, os.Stdout, time.Second)
}

func newReporter(model string, instance int, out io.Writer, every time.Duration) *Reporter {
	r := &Reporter{
		model: model, instance: instance, out: out, enc: json.NewEncoder(out),
		last: map[reportKey]time.Time{}, pending: map[reportKey]*pending{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go r.flushLoop(every)
	return r
}

// Report records one event. err may be nil (for example for KindForkCap).
func (r *Reporter) Report(kind string, err error, conns int64) {
	k := reportKey{kind: kind, errno: ErrnoName(err)}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.last[k]; !ok || now.Sub(t) >= time.Second {
		if p := r.pending[k]; p != nil {
			// Fold what was waiting into this line.
			r.write(k, p.count+1, conns, msg, now)
			delete(r.pending, k)
		} else {
			r.write(k, 1, conns, msg, now)
		}
		r.last[k] = now
		return
	}
	p := r.pending[k]
	if p == nil {
		p = &pending{}
		r.pending[k] = p
	}
	p.count++
	p.conns = conns
	p.msg = msg
}

func (r *Reporter) write(k reportKey, count, conns int64, msg string, now time.Time) {
	// An encoding error means stdout is gone; nothing useful can be done.
	_ = r.enc.Encode(Report{Time: now, Model: r.model, Instance: r.instance,
		Kind: k.kind, Errno: k.errno, Count: count, Conns: conns, Msg: msg})
}

func (r *Reporter) flush() {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, p := range r.pending {
		r.write(k, p.count, p.conns, p.msg, now)
		r.last[k] = now
		delete(r.pending, k)
	}
}

func (r *Reporter) flushLoop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.stop:
			r.flush()
			return
		}
	}
}

// Close writes what is pending and stops the flusher.
func (r *Reporter) Close() {
	close(r.stop)
	<-r.done
}

// ErrnoName returns the symbolic errno ("EMFILE") inside err, or "".
func ErrnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		if name := unix.ErrnoName(en); name != "" {
			return name
		}
		return en.Error()
	}
	return ""
}
