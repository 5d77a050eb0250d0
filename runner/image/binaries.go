package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"c10klab/runner/internal/imagelayout"
	"c10klab/runner/internal/model"
)

// file is one regular file of the image.
type file struct {
	path string // in the image, absolute: /models/epoll/run
	src  string // on this machine
	mode int64
	size int64 // set when a layer is made of it
}

// leftOut is a model the image does not hold, and why.
type leftOut struct {
	name, why string
}

// contents is what goes into the image: the runner, the models' files
// (each model's run, family and README), and the models left out.
type contents struct {
	runner  file
	models  []file
	names   []string // the models in the image, sorted
	leftOut []leftOut
}

// modelExtras are a model folder's files copied beside its binary when
// they exist: the family groups it in reports (model.FamilyFile), the
// README says what it is. Not requires: what it names (a compiler, an
// interpreter) is needed to build or run the folder's source, not the
// static binary, and `c10klab list` would report it missing.
var modelExtras = []string{model.FamilyFile, "README.md"}

// runBuildTimeout bounds one `run --build`: compiling forked.c takes about
// a second here; a compiler that hangs must not hang make image.
const runBuildTimeout = 5 * time.Minute

// collect builds the runner and every model under root/models that can run
// from a static binary into work, and returns the image's files.
func collect(ctx context.Context, root, work string) (contents, error) {
	var c contents
	runnerDir := filepath.Join(work, "runner")
	if err := goBuild(ctx, root, runnerDir, "./runner"); err != nil {
		return c, err
	}
	c.runner = file{path: imagelayout.Runner, src: filepath.Join(runnerDir, "runner"), mode: 0o755}
	if err := staticELF(c.runner.src); err != nil {
		return c, fmt.Errorf("runner: %w", err)
	}

	ms, err := model.Discover(filepath.Join(root, "models"))
	if err != nil {
		return c, err
	}
	// The Go models in one go build: it builds their shared packages once
	// and in parallel. Each lands in modelsDir under its folder's name.
	modelsDir := filepath.Join(work, "models")
	var goPkgs []string
	for _, m := range ms {
		if m.Run == "" {
			rel, err := filepath.Rel(root, m.Dir)
			if err != nil {
				return c, err
			}
			goPkgs = append(goPkgs, "./"+filepath.ToSlash(rel))
		}
	}
	if len(goPkgs) > 0 {
		if err := goBuild(ctx, root, modelsDir, goPkgs...); err != nil {
			return c, err
		}
	}
	for _, m := range ms {
		bin := filepath.Join(modelsDir, m.Name)
		if m.Run != "" {
			var why string
			bin, why, err = runBinary(ctx, root, m)
			if err != nil {
				return c, err
			}
			if why != "" {
				c.leftOut = append(c.leftOut, leftOut{m.Name, why})
				continue
			}
		}
		if err := staticELF(bin); err != nil {
			if m.Run == "" {
				// CGO_ENABLED=0 makes every Go binary static: this is a bug.
				return c, fmt.Errorf("model %s: %w", m.Name, err)
			}
			c.leftOut = append(c.leftOut, leftOut{m.Name, err.Error()})
			continue
		}
		c.names = append(c.names, m.Name)
		c.models = append(c.models, file{path: imagelayout.ModelRun(m.Name), src: bin, mode: 0o755})
		for _, x := range modelExtras {
			src := filepath.Join(m.Dir, x)
			if st, err := os.Stat(src); err == nil && st.Mode().IsRegular() {
				c.models = append(c.models, file{path: path.Join(imagelayout.ModelsDir, m.Name, x), src: src, mode: 0o644})
			}
		}
	}
	return c, nil
}

// goBuild builds the packages (paths relative to root) into outDir, one
// executable each, named after the package's folder.
//
// CGO_ENABLED=0: the binaries are static, so they run on an empty base.
// -trimpath: they hold no path of this checkout, so two checkouts of one
// commit build the same bytes. -s -w drops the symbol table and DWARF
// (the runner 15.5 MB -> 12.3 MB, epoll 3.4 -> 2.2 MB); a panic still
// names functions and lines.
func goBuild(ctx context.Context, root, outDir string, pkgs ...string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", outDir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// runBinary finds the static executable of a `run` model: run itself when
// it is an executable file (not a script), else the path that `run
// --build` prints (models/README.md: a C model's run compiles its source
// and prints the binary's path). A script with no --build is left out
// (why != ""): it needs its interpreter at run time (the Python models).
// A run that offers --build and fails is an error: the model is broken.
func runBinary(ctx context.Context, root string, m model.Model) (bin, why string, err error) {
	script, err := os.ReadFile(m.Run)
	if err != nil {
		return "", "", fmt.Errorf("model %s: %w", m.Name, err)
	}
	if !bytes.HasPrefix(script, []byte("#!")) {
		return m.Run, "", nil // a binary; staticELF judges it
	}
	// Only a run that mentions --build is asked to build: any other
	// script would take the flag as nothing and start its server.
	if !bytes.Contains(script, []byte("--build")) {
		return "", "a script with no --build: it needs its interpreter at run time", nil
	}
	ctx, cancel := context.WithTimeout(ctx, runBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.Run, "--build")
	cmd.Dir = root // where the runner starts models
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On timeout, the compiler the script started goes too.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (after %v)", ctx.Err(), runBuildTimeout)
		}
		return "", "", fmt.Errorf("model %s: %s --build: %w: %s", m.Name, m.Run, err, strings.TrimSpace(stderr.String()))
	}
	// The path is the last line printed: a build may say more before it.
	out := strings.TrimSpace(stdout.String())
	bin = strings.TrimSpace(out[strings.LastIndexByte(out, '\n')+1:])
	if bin == "" {
		return "", "", fmt.Errorf("model %s: %s --build printed no path", m.Name, m.Run)
	}
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	st, err := os.Stat(bin)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("model %s: run --build printed %s: %w", m.Name, bin, err)
	case !st.Mode().IsRegular() || st.Mode()&0o111 == 0:
		return "", "", fmt.Errorf("model %s: run --build printed %s, not an executable file", m.Name, bin)
	}
	return bin, "", nil
}
