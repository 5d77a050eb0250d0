package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

// runSmall is the shared fixture: three models, threaded crashed mid-run.
const runSmall = "../report/testdata/run-small"

func TestRenderRunSmall(t *testing.T) {
	l, err := results.Load(runSmall)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if dir := os.Getenv("C10K_PLOT_OUT"); dir != "" {
		out = dir // to look at the charts
	}
	paths, err := Render(l, out)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := []string{results.SustainedChart, results.LatencyChart, results.MemoryChart, results.CPUChart, results.CostChart}
	for _, m := range []string{"epoll", "threaded", "goroutine"} {
		want = append(want, results.FailuresChart(m), results.TimelineChart(m))
	}
	for _, n := range want {
		for _, ext := range []string{".png", ".svg"} {
			if !slices.Contains(paths, filepath.Join(out, n+ext)) {
				t.Errorf("Render did not return %s%s; got %v", n, ext, paths)
			}
		}
	}
	for _, p := range paths {
		checkChart(t, p)
	}
}

// checkChart asserts a PNG decodes at a readable size and an SVG is
// well-formed XML with real drawing in it.
func checkChart(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(path) {
	case ".png":
		img, format, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r := img.Bounds(); format != "png" || r.Dx() < 400 || r.Dy() < 300 {
			t.Errorf("%s: %s %dx%d, want a png of at least 400x300", path, format, r.Dx(), r.Dy())
		}
	case ".svg":
		dec := xml.NewDecoder(bytes.NewReader(b))
		elems, paths := 0, 0
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not XML: %v", path, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				elems++
				if se.Name.Local == "path" {
					paths++
				}
			}
		}
		if elems < 30 || paths < 15 {
			t.Errorf("%s: %d elements, %d paths: too little drawn", path, elems, paths)
		}
	default:
		t.Errorf("unexpected chart file %s", path)
	}
}

// TestCrashMarked checks the crashed model's timeline and failures chart
// carry the crash marker, by the label text in the SVG.
func TestCrashMarked(t *testing.T) {
	l, err := results.Load(runSmall)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Render(l, out); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{results.TimelineChart("threaded") + ".svg", "model exited at 10.8 s"},
		{results.FailuresChart("threaded") + ".svg", "model exited"},
		{results.FailuresChart("threaded") + ".svg", "2k (unfinished)"},
		{results.SustainedChart + ".svg", "model exited at 2k offered"},
		{results.FailuresChart("goroutine") + ".svg", "first failure"},
		{results.TimelineChart("epoll") + ".svg", "sustained"},
	} {
		b, err := os.ReadFile(filepath.Join(out, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: no %q", tc.file, tc.want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, results.TimelineChart("epoll")+".svg"))
	if strings.Contains(string(b), "model exited") {
		t.Errorf("epoll did not crash but its timeline marks an exit")
	}
}
