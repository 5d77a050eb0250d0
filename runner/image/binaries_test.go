package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"c10klab/runner/internal/model"
)

// TestStaticELF: a Go binary built with CGO_ENABLED=0 passes; the
// system's shell (dynamically linked on Debian) and a script do not.
func TestStaticELF(t *testing.T) {
	dir := t.TempDir()
	if err := goBuild(context.Background(), root, dir, "./models/goroutine"); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, want string // want: "" passes, else a part of the error
	}{
		{filepath.Join(dir, "goroutine"), ""},
		{"/bin/sh", "not statically linked: needs /lib"},
		{script, "not an ELF executable"},
	}
	for _, c := range cases {
		err := staticELF(c.path)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want static", c.path, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
}

// TestRunBinary: which `run` models give a binary, which are left out and
// which are errors. Only a run that mentions --build is started.
func TestRunBinary(t *testing.T) {
	dir := t.TempDir()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, script string
		bin          string // "" for none
		why, err     string // parts of the reason left out, of the error
	}{
		{"builds", "#!/bin/sh\n# run --build prints the binary\n[ \"$1\" = --build ] && { echo compiling; echo " + sh + "; exit 0; }\nexit 9\n", sh, "", ""},
		{"relative", "#!/bin/sh\n# --build\necho bin/x\n", "", "", "bin/x"},
		{"python", "#!/bin/sh\nexec /usr/bin/python3 -I server.py\n", "", "needs its interpreter", ""},
		{"fails", "#!/bin/sh\n# --build\necho no compiler >&2\nexit 2\n", "", "", "no compiler"},
		{"silent", "#!/bin/sh\n# --build\n", "", "", "printed no path"},
		{"notexec", "#!/bin/sh\n# --build\necho " + plain + "\n", "", "", "not an executable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(dir, c.name, "run")
			if err := os.MkdirAll(filepath.Dir(run), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(run, []byte(c.script), 0o755); err != nil {
				t.Fatal(err)
			}
			bin, why, err := runBinary(context.Background(), dir, model.Model{Name: c.name, Dir: filepath.Dir(run), Run: run})
			if bin != c.bin {
				t.Errorf("binary %q, want %q", bin, c.bin)
			}
			if (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
				t.Errorf("left out %q, want %q", why, c.why)
			}
			if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
	// An executable that is not a script is its own binary.
	if bin, why, err := runBinary(context.Background(), dir, model.Model{Name: "elf", Run: sh}); bin != sh || why != "" || err != nil {
		t.Errorf("an ELF run: %q, %q, %v", bin, why, err)
	}
}
