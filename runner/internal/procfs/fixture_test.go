package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

// fixture returns a file of testdata: copies, made with cat, of the real
// files on the 2-CPU test machine (Linux 6.x, cgroup v1).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
