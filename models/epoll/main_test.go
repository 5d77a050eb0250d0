package main

// The contract, work included, is checked for every model by
// runner/conformance; these are the epoll model's own behaviours: what
// block= does to a reactor's loop, and what the pool preset changes.

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"c10klab/contract"
	"c10klab/models/internal/modeltest"
	"c10klab/runner/conformance"
)

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

const (
	blockConns = 8
	blockFor   = 40 * time.Millisecond
)

// blockRound sends one 12-byte request on each connection at once and
// returns how long the last echo took.
func blockRound(t *testing.T, conns []*net.TCPConn) time.Duration {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	start := time.Now()
	for i, c := range conns {
		wg.Go(func() { errs[i] = conformance.Echo(t.Context(), c, fmt.Appendf(nil, "block %05d\n", i)) })
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	return took
}

func workEnv(w contract.Work, preset string) []string {
	w.Size = 12 // the greeting of DialEcho, and half the readiness probe
	env := w.Environ()
	if preset != "" {
		env = append(env, contract.EnvPreset+"="+preset)
	}
	return env
}

// block= runs on the loop, so requests of different connections sleep one
// after another: a lower bound, which a busy machine can only make later.
func TestBlockStallsTheLoop(t *testing.T) {
	in := modeltest.Start(t, bin, workEnv(contract.Work{Block: blockFor}, "")...)
	conns := modeltest.DialEcho(t, in.Addr(), blockConns)
	if took, least := blockRound(t, conns), blockConns*blockFor; took < least {
		t.Fatalf("%d connections with one request each and block=%v took %v: the loop should serialise them (at least %v)",
			blockConns, blockFor, took, least)
	}
}

// With the pool preset the blocking sleeps overlap on the pool's workers:
// well under the serial time (half of it, which leaves a busy machine
// 160 ms of slack).
func TestPoolUnblocksTheLoop(t *testing.T) {
	in := modeltest.Start(t, bin, workEnv(contract.Work{Block: blockFor}, PresetPool)...)
	conns := modeltest.DialEcho(t, in.Addr(), blockConns)
	if took, limit := blockRound(t, conns), blockConns*blockFor/2; took >= limit {
		t.Fatalf("%d connections with one request each and block=%v took %v with the pool: want under %v",
			blockConns, blockFor, took, limit)
	}
}

// The pool preset keeps the whole work contract.
func TestPoolWorkChecks(t *testing.T) {
	m := conformance.Model{Name: "epoll:pool", Bin: bin, Env: []string{contract.EnvPreset + "=" + PresetPool}}
	for _, c := range conformance.WorkChecks() {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Run(t.Context(), m, conformance.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A pool of one worker still serves every connection, one at a time.
func TestPoolOfOne(t *testing.T) {
	in := modeltest.Start(t, bin, append(workEnv(contract.Work{Block: 10 * time.Millisecond}, PresetPool), EnvPool+"=1")...)
	conns := modeltest.DialEcho(t, in.Addr(), 4)
	if took, least := blockRound(t, conns), 4*10*time.Millisecond; took < least {
		t.Fatalf("4 requests through one worker took %v, want at least %v", took, least)
	}
}

func TestBadPresetAndPool(t *testing.T) {
	for _, env := range [][]string{
		{contract.EnvPreset + "=threads"},
		{contract.EnvPreset + "=" + PresetPool, EnvPool + "=0"},
		{contract.EnvWork + "=cpu=5"},
	} {
		_, err := conformance.Model{Bin: bin}.StartFree(t.Context(), env...)
		if err == nil {
			t.Errorf("started with %q", env)
		}
	}
}
