// Package model finds the models under models/, builds them, starts their
// instances, waits until they echo, and stops them with every process they
// started.
package model

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"c10klab/runner/internal/results"
)

// Model is one folder under models/.
type Model struct {
	Name string
	Dir  string
	// Run is the path of the folder's executable `run`, or "" for a Go
	// main package.
	Run string
	// Requires is what the folder's requires file declares (requires.go).
	Requires []Requirement
}

// Discover lists the models under root: folders with a Go main package or
// an executable file named run. Adding a model is adding a folder.
func Discover(root string) ([]Model, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list models in %s: %w", root, err)
	}
	var out []Model
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == "internal" || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") || name == "testdata" {
			continue
		}
		dir := filepath.Join(root, name)
		reqs, err := ReadRequires(dir)
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "run")); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, Model{Name: name, Dir: dir, Run: filepath.Join(dir, "run"), Requires: reqs})
			continue
		}
		ok, err := isGoMain(dir)
		if err != nil {
			return nil, fmt.Errorf("list models: %s: %w", dir, err)
		}
		if ok {
			out = append(out, Model{Name: name, Dir: dir, Requires: reqs})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func isGoMain(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return false, err
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			return false, err
		}
		if af.Name.Name == "main" {
			return true, nil
		}
	}
	return false, nil
}

// Spec is a model named on the command line, optionally with a preset
// and with the work each message costs it (C10K_WORK):
// "forked:seed", "py-asyncio:executor@block=5ms".
type Spec struct {
	Name   string
	Preset string
	// Work is the C10K_WORK the model runs with, "" for the plain echo.
	Work string
}

// ParseSpec parses "name", "name:preset", and either with "@work".
func ParseSpec(s string) (Spec, error) {
	s, work, _ := strings.Cut(strings.TrimSpace(s), results.WorkSep)
	name, preset, _ := strings.Cut(s, ":")
	if name == "" {
		return Spec{}, fmt.Errorf("empty model name in %q", s)
	}
	return Spec{Name: name, Preset: preset, Work: strings.TrimSpace(work)}, nil
}

// Label names the spec's results files: "forked-seed",
// "epoll@cpu=200us" (results.FileName makes it safe on disk).
func (s Spec) Label() string {
	l := s.Name
	if s.Preset != "" {
		l += "-" + s.Preset
	}
	return results.WorkLabel(l, s.Work)
}

func (s Spec) String() string {
	n := s.Name
	if s.Preset != "" {
		n += ":" + s.Preset
	}
	return results.WorkLabel(n, s.Work)
}

// Find returns the model called name, or an error that lists the models
// there are.
func Find(models []Model, name string) (Model, error) {
	var names []string
	for _, m := range models {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Model{}, fmt.Errorf("unknown model %q: the models under models/ are %s", name, strings.Join(names, ", "))
}

// Build makes the model's executable and returns its path: a Go model is
// built into binDir, a `run` model is used as it is, after `run --build`
// when its script offers it (prebuild).
func Build(ctx context.Context, m Model, moduleRoot, binDir string) (string, error) {
	if m.Run != "" {
		if err := prebuild(ctx, m, moduleRoot); err != nil {
			return "", err
		}
		return m.Run, nil
	}
	out, err := filepath.Abs(filepath.Join(binDir, m.Name))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(moduleRoot, m.Dir)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./"+filepath.ToSlash(rel))
	cmd.Dir = moduleRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build model %s: %w: %s", m.Name, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// prebuild runs `run --build` for a run script that compiles its server
// on first use and offers the flag (models/README.md, "`run` models"), so
// that compiling happens before the model is started and never counts
// against its readiness timeout: rust-tokio's cold cargo build takes about
// 20 s on 2 cores, twice the 10 s a model has to echo. A script that does
// not mention --build is left alone (it would take the flag as nothing and
// start its server).
func prebuild(ctx context.Context, m Model, moduleRoot string) error {
	script, err := os.ReadFile(m.Run)
	if err != nil {
		return fmt.Errorf("model %s: %w", m.Name, err)
	}
	if !bytes.HasPrefix(script, []byte("#!")) || !bytes.Contains(script, []byte("--build")) {
		return nil
	}
	cmd := exec.CommandContext(ctx, m.Run, "--build")
	cmd.Dir = moduleRoot // where models are started
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build model %s: %s --build: %w: %s", m.Name, m.Run, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
