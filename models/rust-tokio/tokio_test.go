// The rust-tokio model's own behaviour; the contract is checked for every
// model by runner/conformance. The crate's own unit tests (the C10K_WORK
// parser, the CPU burn, the report lines) run with cargo test in this
// folder.
package rusttokio_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"c10klab/models/internal/modeltest"
)

// build builds the server with ./run --build (cached; a cold build takes
// about 20 s, more than a model has to start) and returns its path.
func build(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "./run", "--build")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("./run --build: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// block= is std::thread::sleep on the runtime's only thread: it stops
// every task.
func TestBlockStallsTheLoop(t *testing.T) {
	took := modeltest.BlockStallsTheLoop(t, build(t))
	t.Logf("5 blocked requests on 5 connections: last echo after %v", took)
}
