package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListModelsDir lists a models folder outside any project, as the
// image's default command does with /models: a folder with an executable
// run is a model, one without is not.
func TestListModelsDir(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"echo": 0o755, "notexec": 0o644} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "run"), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb strings.Builder
	if code := Main([]string{"list", "--models-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if want := filepath.Join(dir, "echo") + " (executable run)"; !strings.Contains(out.String(), want) {
		t.Errorf("list printed %q, want a line with %q", out.String(), want)
	}
	if strings.Contains(out.String(), "notexec") {
		t.Errorf("list printed a folder whose run is not executable:\n%s", out.String())
	}
	if code := Main([]string{"list", "--models-dir", filepath.Join(dir, "none")}, &out, &errb); code != 1 {
		t.Errorf("missing folder: exit %d, want 1", code)
	}
}
