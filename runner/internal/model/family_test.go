package model

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFamily(t *testing.T) {
	dir := t.TempDir()
	if got := Family(Model{Dir: dir}); got != OtherFamily {
		t.Fatalf("no family file: %q, want %q", got, OtherFamily)
	}
	if err := os.WriteFile(filepath.Join(dir, FamilyFile), []byte("# the kind\n\nPython event loop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Family(Model{Dir: dir}); got != "Python event loop" {
		t.Fatalf("family %q", got)
	}
}
