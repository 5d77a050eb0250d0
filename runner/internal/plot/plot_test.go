package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
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

// TestHoverTitles checks each chart's SVG titles its points: one title per
// drawn step in the per-step charts, saying the model, the offer and the
// value in words, each inside the drawing's viewBox.
func TestHoverTitles(t *testing.T) {
	l, err := results.Load(runSmall)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Render(l, out); err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, m := range l.Models() {
		steps += len(l.Steps(m))
	}
	gs := l.Steps("goroutine")
	last := gs[len(gs)-1]
	lastTitle := fmt.Sprintf("goroutine: %s offered, %s sustained", units.Count(float64(last.Offered)), units.Count(float64(last.Sustained)))
	for _, tc := range []struct {
		file    string
		titles  int // 0: at least one
		want    string
		notWant string
	}{
		{results.SustainedChart, steps, lastTitle, ""},
		{results.SustainedChart, steps, "epoll: 4k offered, 3.98k sustained (untrusted: the swarm was the limit)", ""},
		{results.LatencyChart, 3 * steps, "epoll at 500 offered: p99.9 ", "NaN"},
		{results.CPUChart, 0, " CPU per 1,000 echoes", "NaN"},
		{results.MemoryChart, 0, "user memory per connection", "NaN"},
		{results.CostChart, 0, "ramping", "NaN"},
		{results.CostChart, 0, "the swarm driving epoll at 3.98k sustained: 10.9 ms CPU per 1,000 echoes", "NaN"},
		{results.CostChart, 0, "the swarm driving goroutine ramping, ", "NaN"},
		{results.CostChart, 0, "of one CPU per 1,000 connections held", "NaN"},
		{results.FailuresChart("goroutine"), 1, "4k offered: deadline:ETIMEDOUT 931", ""},
		{results.FailuresChart("epoll"), 1, "client-side connect:EADDRNOTAVAIL 12", ""},
		{results.TimelineChart("threaded"), 0, ": sustained ", "NaN"},
	} {
		b, err := os.ReadFile(filepath.Join(out, tc.file+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		titles, outside := hoverTitles(t, b)
		if tc.titles > 0 && len(titles) != tc.titles || len(titles) == 0 {
			t.Errorf("%s: %d titled points, want %d", tc.file, len(titles), tc.titles)
		}
		all := strings.Join(titles, "\n")
		if !strings.Contains(all, tc.want) || tc.notWant != "" && strings.Contains(all, tc.notWant) {
			t.Errorf("%s: titles lack %q (or hold %q):\n%s", tc.file, tc.want, tc.notWant, all)
		}
		if outside > 0 {
			t.Errorf("%s: %d titled shapes outside the drawing", tc.file, outside)
		}
	}
}

// hoverTitles returns an SVG's titles and how many titled shapes lie
// outside its viewBox.
func hoverTitles(t *testing.T, svg []byte) (titles []string, outside int) {
	t.Helper()
	var doc struct {
		ViewBox string `xml:"viewBox,attr"`
		Groups  []struct {
			Circles []struct {
				CX    float64 `xml:"cx,attr"`
				CY    float64 `xml:"cy,attr"`
				Title string  `xml:"title"`
			} `xml:"circle"`
			Rects []struct {
				X     float64 `xml:"x,attr"`
				Y     float64 `xml:"y,attr"`
				Title string  `xml:"title"`
			} `xml:"rect"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatal(err)
	}
	var w, h float64
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %g %g", &w, &h); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	in := func(x, y float64) bool { return x >= 0 && x <= w && y >= 0 && y <= h }
	for _, g := range doc.Groups {
		for _, c := range g.Circles {
			titles = append(titles, c.Title)
			if !in(c.CX, c.CY) {
				outside++
			}
		}
		for _, r := range g.Rects {
			titles = append(titles, r.Title)
			if !in(r.X, r.Y) {
				outside++
			}
		}
	}
	return titles, outside
}
