package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sample(i int) Record {
	return Record{Type: TypeSample, Sample: &Sample{Time: time.Unix(int64(1000+i), 0).UTC(), Step: 0, Offered: 100, Swarm: Swarm{SwarmCounters: SwarmCounters{Open: i}}}}
}

func step(i int) Record {
	return Record{Type: TypeStep, Step: &Step{Index: i, Offered: 100 * (i + 1), Sustained: 100 * (i + 1), OK: true}}
}

// writeRunFolder writes a run with one model "m": run.json, a timeline of
// n samples and a step, and (with summary) its summary.
func writeRunFolder(t *testing.T, n int, summary bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteRun(dir, &Run{ID: "test", Models: []string{"m"}}); err != nil {
		t.Fatal(err)
	}
	tl, err := CreateTimeline(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tl.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.Append(step(0)); err != nil {
		t.Fatal(err)
	}
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if summary {
		if err := WriteSummary(dir, &Summary{Model: "m", Capacity: 100}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadRoundTrip(t *testing.T) {
	dir := writeRunFolder(t, 3, true)
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Errorf("whole run flagged: %v", err)
	}
	if got := l.Samples("m"); len(got) != 3 || got[2].Swarm.Open != 2 {
		t.Errorf("samples %+v", got)
	}
	if got := l.Steps("m"); len(got) != 1 || got[0].Sustained != 100 {
		t.Errorf("steps %+v", got)
	}
	if s := l.Summaries["m"]; s.Capacity != 100 {
		t.Errorf("summary %+v", s)
	}
	if m := l.Models(); len(m) != 1 || m[0] != "m" {
		t.Errorf("models %v", m)
	}
}

// TestLoadFlagsDamage: what a full disk or a crash leaves is read as far as
// it goes and named, never taken for a whole run; damage before the last
// line is an error.
func TestLoadFlagsDamage(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, dir string)
		wantErr   string // Load fails with this
		wantCut   int    // line flagged as cut; 0: none
		wantLost  bool   // the timeline is flagged missing
		wantRecs  int    // records read
		wantWhole bool   // Check passes
	}{
		{"whole", func(t *testing.T, dir string) {}, "", 0, false, 4, true},
		{"last line cut mid-record", func(t *testing.T, dir string) {
			truncate(t, TimelinePath(dir, "m"), 30)
		}, "", 4, false, 3, false},
		{"last line cut after its brace", func(t *testing.T, dir string) {
			truncate(t, TimelinePath(dir, "m"), 1) // the newline only: still whole
		}, "", 0, false, 4, true},
		{"last line an empty object", func(t *testing.T, dir string) {
			appendTo(t, TimelinePath(dir, "m"), "{}\n")
		}, "", 5, false, 4, false},
		{"last line a type without payload", func(t *testing.T, dir string) {
			appendTo(t, TimelinePath(dir, "m"), `{"type":"step"}`+"\n")
		}, "", 5, false, 4, false},
		{"a record of a newer type", func(t *testing.T, dir string) {
			appendTo(t, TimelinePath(dir, "m"), `{"type":"hostile","hostile":{"kind":"slow"}}`+"\n")
		}, "", 0, false, 5, true},
		{"garbage before the last line", func(t *testing.T, dir string) {
			appendTo(t, TimelinePath(dir, "m"), "{\"type\":\"sam\n")
			appendTo(t, TimelinePath(dir, "m"), mustJSON(t, sample(9))+"\n")
		}, "m.jsonl: line 5", 0, false, 0, false},
		{"timeline gone, summary kept", func(t *testing.T, dir string) {
			os.Remove(TimelinePath(dir, "m"))
		}, "", 0, true, 0, false},
		{"empty timeline", func(t *testing.T, dir string) {
			truncate(t, TimelinePath(dir, "m"), -1)
		}, "", 0, false, 0, true},
		{"a temporary file left by a crash", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, tmpPrefix+"m.summary.json-123"), `{"model":`)
			appendTo(t, filepath.Join(dir, tmpPrefix+"m.jsonl-123"), `{"type":`)
		}, "", 0, false, 4, true},
		{"summary not JSON", func(t *testing.T, dir string) {
			appendTo(t, SummaryPath(dir, "m"), "}")
		}, "m.summary.json", 0, false, 0, false},
		{"run.json gone", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, RunFile))
		}, "run.json", 0, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRunFolder(t, 3, true)
			tt.damage(t, dir)
			l, err := Load(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(l.Timelines["m"]); got != tt.wantRecs {
				t.Errorf("%d records read, want %d", got, tt.wantRecs)
			}
			check := l.Check()
			if tt.wantWhole != (check == nil) {
				t.Fatalf("Check: %v, want whole %v", check, tt.wantWhole)
			}
			if check != nil && !errors.Is(check, ErrDamaged) {
				t.Errorf("Check's error %v does not wrap ErrDamaged", check)
			}
			var cut int
			var lost bool
			for _, d := range l.Damaged {
				if d.File != "m.jsonl" {
					t.Errorf("damage in %s: %v", d.File, d)
				}
				if d.Line > 0 {
					cut = d.Line
				} else {
					lost = true
				}
			}
			if cut != tt.wantCut || lost != tt.wantLost {
				t.Errorf("damage %v: want cut at %d, missing %v", l.Damaged, tt.wantCut, tt.wantLost)
			}
			if tt.wantLost {
				// The summary still names the model.
				if m := l.Models(); len(m) != 1 || m[0] != "m" {
					t.Errorf("models %v: want the model whose summary exists", m)
				}
			}
		})
	}
}

func truncate(t *testing.T, path string, cut int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if cut >= 0 {
		n = len(b) - cut
	}
	if err := os.WriteFile(path, b[:n], 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTimelineErrIsSticky: once a write fails, Err reports it, every later
// Append returns it without writing, and Close returns it too.
func TestTimelineErrIsSticky(t *testing.T) {
	dir := t.TempDir()
	tl, err := CreateTimeline(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Append(sample(0)); err != nil || tl.Err() != nil {
		t.Fatalf("append: %v, Err %v", err, tl.Err())
	}
	// A descriptor that refuses writes, as a full or read-only disk does.
	ro, err := os.Open(tl.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	good := tl.f
	tl.f = ro
	first := tl.Append(sample(1))
	if first == nil || tl.Err() != first {
		t.Fatalf("append to a refusing file: %v, Err %v", first, tl.Err())
	}
	tl.f = good // the disk recovers; the timeline must not resume past a gap
	if err := tl.Append(sample(2)); err == nil || err.Error() != first.Error() {
		t.Errorf("append after a failure: %v, want the first failure %v", err, first)
	}
	if err := tl.Sync(); err == nil {
		t.Errorf("sync after a failure succeeded")
	}
	if err := tl.Close(); err == nil {
		t.Errorf("close after a failure succeeded")
	}
	ro.Close()
	l, err := os.ReadFile(TimelinePath(dir, "m"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(l, []byte("\n")); n != 1 {
		t.Errorf("%d lines in the file, want the one appended before the failure", n)
	}
}

// TestWriteFileAllOrNothing: a write that fails leaves the file as it was
// and no temporary file behind; one that succeeds replaces it whole.
func TestWriteFileAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "REPORT.md")
	if err := WriteBytes(path, []byte("first\n")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := WriteFile(path, func(w io.Writer) error {
		fmt.Fprint(w, "half of the sec")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("failed write: %v, want it to wrap the cause and name %s", err, path)
	}
	assertFile(t, path, "first\n")
	if err := WriteBytes(path, []byte("second\n")); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "second\n")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v: want 0644", fi.Mode(), err)
	}
	assertNoTemp(t, dir)
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q", filepath.Base(path), b, err, want)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestFullDisk runs the store on a real 64 KiB tmpfs (root only): the
// timeline's failure is sticky and its cut line is flagged on reading,
// and a summary or run.json that does not fit leaves no file, or the old
// one, never an empty or cut one.
func TestFullDisk(t *testing.T) {
	dir := tinyDisk(t, "64k")
	if err := WriteRun(dir, &Run{ID: "full", Models: []string{"m"}}); err != nil {
		t.Fatal(err)
	}
	tl, err := CreateTimeline(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	var appendErr error
	n := 0
	for ; n < 10000 && appendErr == nil; n++ {
		appendErr = tl.Append(sample(n))
	}
	if !errors.Is(appendErr, syscall.ENOSPC) || !errors.Is(tl.Err(), syscall.ENOSPC) {
		t.Fatalf("after %d appends: %v, Err %v: want ENOSPC", n, appendErr, tl.Err())
	}
	tl.Close()
	big := &Summary{Model: "m", Diagnosis: strings.Repeat("x", 128<<10)}
	if err := WriteSummary(dir, big); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("summary on a full disk: %v, want ENOSPC", err)
	}
	if _, err := os.Stat(SummaryPath(dir, "m")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a summary that did not fit exists: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, RunFile))
	if err := WriteRun(dir, &Run{ID: "full", Outcome: strings.Repeat("y", 128<<10)}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("run.json on a full disk: %v, want ENOSPC", err)
	}
	assertFile(t, filepath.Join(dir, RunFile), string(before))
	assertNoTemp(t, dir)

	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The failed write usually saved part of its line; a cut line must be
	// flagged. (If the disk filled exactly at a line's end, the file is
	// whole as far as it goes.)
	b, _ := os.ReadFile(TimelinePath(dir, "m"))
	cut := len(b) > 0 && b[len(b)-1] != '\n'
	if err := l.Check(); cut != errors.Is(err, ErrDamaged) {
		t.Fatalf("timeline cut %v, Check %v (%d records)", cut, err, len(l.Timelines["m"]))
	}
	if got := len(l.Samples("m")); got != n-1 {
		t.Errorf("%d samples read back, want the %d appended whole", got, n-1)
	}
}

// TestReadOnlyDisk: on a read-only filesystem nothing can be created,
// and the error says so.
func TestReadOnlyDisk(t *testing.T) {
	dir := tinyDisk(t, "64k")
	if err := WriteRun(dir, &Run{ID: "ro"}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	if _, err := CreateTimeline(dir, "m"); !errors.Is(err, syscall.EROFS) {
		t.Errorf("timeline on a read-only disk: %v, want EROFS", err)
	}
	if err := WriteRun(dir, &Run{ID: "ro2"}); !errors.Is(err, syscall.EROFS) {
		t.Errorf("run.json on a read-only disk: %v, want EROFS", err)
	}
	l, err := Load(dir)
	if err != nil || l.Run.ID != "ro" {
		t.Errorf("the run.json written before: %+v, %v", l, err)
	}
}

// tinyDisk mounts a tmpfs of size in a temporary folder and unmounts it
// when the test ends; it skips without root.
func tinyDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
