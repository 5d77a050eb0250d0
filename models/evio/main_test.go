package main

// The contract is checked for every model by runner/conformance; these are
// evio's own behaviours.

import (
	"bytes"
	"testing"

	"c10klab/models/internal/modeltest"
)

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

// evio passes the failed read to Closed, so a client reset is reported.
func TestResetReported(t *testing.T) { modeltest.ResetReported(t, bin) }

// evio pauses reading while output is pending, so it sees the FIN only
// after everything was written, however large the echo (README).
func TestHalfCloseLargeLateReader(t *testing.T) {
	got, want := modeltest.HalfCloseLate(t, bin, 8<<20)
	if !bytes.Equal(got, want) {
		t.Fatalf("half-closed 8 MiB echo: got %d of %d bytes", len(got), len(want))
	}
}
