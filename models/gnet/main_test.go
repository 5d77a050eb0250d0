package main

// The contract is checked for every model by runner/conformance; these are
// gnet's own behaviours.

import (
	"bytes"
	"testing"

	"c10klab/models/internal/modeltest"
)

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

// gnet passes the failed read to OnClose, so a client reset is reported.
func TestResetReported(t *testing.T) { modeltest.ResetReported(t, bin) }

// Unfixed, gnet closes a half-closed connection after one non-blocking
// write of the pending echo (README: 4.2 of 8 MiB delivered); the model's
// OnClose makes that flush complete.
func TestHalfCloseLargeLateReader(t *testing.T) {
	got, want := modeltest.HalfCloseLate(t, bin, 8<<20)
	if !bytes.Equal(got, want) {
		t.Fatalf("half-closed 8 MiB echo: got %d of %d bytes", len(got), len(want))
	}
}
