// The node model's own behaviour; the contract is checked for every model
// by runner/conformance.
package node_test

import (
	"testing"

	"c10klab/models/internal/modeltest"
)

// block= is Atomics.wait on the JS thread: it stops the one loop.
func TestBlockStallsTheLoop(t *testing.T) {
	took := modeltest.BlockStallsTheLoop(t, "./run")
	t.Logf("5 blocked requests on 5 connections: last echo after %v", took)
}
