package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

// TestRenderWritesBothReports draws the report's fixture run again, as
// `c10klab plot` does, and checks REPORT.html is written beside REPORT.md
// with every chart inline.
func TestRenderWritesBothReports(t *testing.T) {
	dir := copyFixture(t)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, report.ReportFile))
	if err != nil || !strings.HasPrefix(string(md), "# c10klab run") {
		t.Fatalf("REPORT.md: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	if err != nil || !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.Contains(string(page), "</html>") {
		t.Fatalf("REPORT.html: %v, %.60q", err, page)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if n := strings.Count(string(page), `<svg role="img"`); len(svgs) == 0 || n != len(svgs) {
		t.Errorf("REPORT.html inlines %d charts; %d were drawn", n, len(svgs))
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range l.Models() {
		if !strings.Contains(string(page), `id="m-`+results.FileName(m)+`"`) {
			t.Errorf("REPORT.html has no section for %s", m)
		}
	}
}

// copyFixture is the report's small fixture run in a temporary folder, to
// draw again without touching the committed files.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const fixture = "../report/testdata/run-small"
	entries, err := os.ReadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(fixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
