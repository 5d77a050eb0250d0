package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Build runs `run --build` for a script that offers it, before the model
// is ever started, and leaves any other run alone.
func TestBuildPrebuildsRunScripts(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		built   bool   // the script ran with --build
		wantErr string // prefix
	}{
		{"offers --build", "#!/bin/sh\n[ \"$1\" = --build ] && touch \"$(dirname \"$0\")/built\"\nexit 0\n", true, ""},
		{"no --build", "#!/bin/sh\ntouch \"$(dirname \"$0\")/built\"\n", false, ""},
		{"build fails", "#!/bin/sh\n# --build\necho 'no compiler' >&2\nexit 2\n", false, "build model m: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			run := filepath.Join(dir, "run")
			if err := os.WriteFile(run, []byte(tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			m := Model{Name: "m", Dir: dir, Run: run}
			got, err := Build(t.Context(), m, dir, t.TempDir())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "no compiler") {
					t.Fatalf("got %v, want an error starting %q with the script's stderr", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != run {
				t.Errorf("Build returned %q, want the run script %q", got, run)
			}
			_, statErr := os.Stat(filepath.Join(dir, "built"))
			if built := statErr == nil; built != tt.built {
				t.Errorf("script ran with --build: %v, want %v", built, tt.built)
			}
		})
	}
}
