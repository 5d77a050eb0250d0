package results

import (
	"testing"
	"time"
)

func TestNewRunDirIsUniqueWithinASecond(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 11, 26, 3, 24, 1, 0, time.UTC)
	seen := map[string]bool{}
	for range 3 {
		id, _, err := NewRunDir(root, start, "")
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("run id %s given twice", id)
		}
		seen[id] = true
	}
	if !seen["20261126-032401"] || !seen["20261126-032401-2"] || !seen["20261126-032401-3"] {
		t.Fatalf("ids %v", seen)
	}
}
