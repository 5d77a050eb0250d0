package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// c10klab is the command built once for the package's tests, which run it
// as a user would (its swarm agents run as `c10klab agent` from the same
// folder, where the tests look for processes left behind). Linking it
// takes 1.5-3 s on 2 cores; five tests used to link it each.
var c10klab string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "c10klab-cli-test")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	c10klab = filepath.Join(dir, "c10klab")
	if out, err := exec.Command("go", "build", "-o", c10klab, "c10klab/runner").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	return m.Run()
}
