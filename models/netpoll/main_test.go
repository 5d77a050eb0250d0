package main

// The contract is checked for every model by runner/conformance; these are
// netpoll's own behaviours, its documented deviations included.

import (
	"testing"

	"c10klab/models/internal/modeltest"
)

var bin string

func TestMain(m *testing.M) { modeltest.Main(m, &bin) }

// netpoll drops echo still waiting in a Flush when the client's FIN
// arrives (README, deviations): a multi-MiB echo read late may come back
// short, but what arrives must be an intact prefix, then EOF.
func TestHalfCloseLargeLateReaderPrefix(t *testing.T) {
	got, want := modeltest.HalfCloseLate(t, bin, 8<<20)
	t.Logf("half-closed 8 MiB echo: %d of %d bytes delivered", len(got), len(want))
	if len(got) == 0 {
		t.Fatal("nothing echoed: the model dropped the whole echo, not just its tail")
	}
}
