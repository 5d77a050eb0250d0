package conformance_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"c10klab/runner/conformance"
	"c10klab/runner/internal/model"
)

// TestModels runs every check against every model folder, found exactly as
// the runner finds them: a new folder is in the suite with no edit here.
// Models run two at a time (the -parallel default here), each model's
// checks one after another.
func TestModels(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every model")
	}
	root := moduleRoot(t)
	models, err := model.Discover(filepath.Join(root, "models"))
	if err != nil {
		t.Fatal(err)
	}
	if len(models) == 0 {
		t.Fatalf("no models under %s", filepath.Join(root, "models"))
	}
	binDir := t.TempDir()
	for _, m := range models {
		t.Run(m.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			start := time.Now()
			bin, err := model.Build(ctx, m, root, binDir)
			if err != nil {
				t.Fatal(err)
			}
			cm := conformance.Model{Name: m.Name, Bin: bin}
			refused, err := model.Refused(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conformance.NetChecks() {
				t.Run(c.Name, func(t *testing.T) {
					in, err := cm.StartFree(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer in.Kill()
					err = c.Run(ctx, in.Addr(), conformance.Options{})
					if why, ok := refused[c.Name]; ok {
						expectRefusal(t, m.Name, c.Name, why, err)
						return
					}
					report(t, err)
					if in.Exited() {
						t.Errorf("the model exited during the check (%v)\nstderr:\n%s", in.ExitErr(), in.Stderr())
					}
				})
			}
			// The runner's form, which must pass too and fit its budget.
			t.Run("quick", func(t *testing.T) {
				in, err := cm.StartFree(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer in.Kill()
				begin := time.Now()
				err = conformance.Quick(ctx, in.Addr())
				var ce *conformance.CheckError
				if errors.As(err, &ce) && refused[ce.Check] != "" {
					expectRefusal(t, m.Name, ce.Check, refused[ce.Check], err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("quick check passed in %v", time.Since(begin).Round(time.Millisecond))
			})
			for _, c := range conformance.ProcChecks() {
				t.Run(c.Name, func(t *testing.T) {
					report(t, c.Run(ctx, cm, conformance.Options{}))
				})
			}
			// The work per request (C10K_WORK), named work_* so that a run
			// can select or skip them (-run 'TestModels/epoll/work_').
			for _, c := range conformance.WorkChecks() {
				t.Run(c.Name, func(t *testing.T) {
					err := c.Run(ctx, cm, conformance.Options{})
					if why, ok := refused[c.Name]; ok {
						expectRefusal(t, m.Name, c.Name, why, err)
						return
					}
					report(t, err)
				})
			}
			t.Logf("%s: build and all checks in %v", m.Name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// expectRefusal checks that a check the model declares it fails does fail:
// the declaration must go when the model is fixed.
func expectRefusal(t *testing.T, model, check, why string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s declares it fails %s (%s), but it passes: remove the line from its %s file", model, check, why, model)
	}
	t.Logf("%s is refused by %s, as it declares (%s): %v", model, check, why, err)
}

func report(t *testing.T, err error) {
	t.Helper()
	if reason, ok := conformance.Skipped(err); ok {
		t.Skip(reason)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// moduleRoot is the folder holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
