// Package plot draws a run's charts with gonum.org/v1/plot from its saved
// results, so any run can be drawn again later. Every chart is written as
// PNG and SVG; a model keeps the same colour in every chart of a run.
//
// Files (named in package results; model names pass through results.FileName):
//
//	sustained.{png,svg}          sustained vs offered connections, all models
//	failures-<model>.{png,svg}   failures by class per step, one per model
//	latency.{png,svg}            p50, p99, p99.9 vs offered connections
//	memory.{png,svg}             user and kernel memory per connection
//	cpu.{png,svg}                model CPU per 1,000 echoes
//	cost.{png,svg}               memory, CPU and ramp rate against connections, log scale
//	work.{png,svg}               capacity per model under each work setting (runs with --work)
//	timeline-<model>.{png,svg}   connections, failures/s, memory, threads over time
package plot

import (
	"errors"
	"image/color"
	"slices"

	"gonum.org/v1/plot/vg/draw"

	"c10klab/runner/internal/results"
)

// Render draws every chart of the run into outDir and returns the files
// written (PNG then SVG for each chart). A chart that cannot be drawn is
// reported in the error while the others are still written.
func Render(l *results.Loaded, outDir string) ([]string, error) {
	models := byFamily(l.Models(), l.Run.Families)
	styles := modelStyles(models, l.Run.Families)
	figs := []*figure{
		sustainedFigure(l, models, styles),
	}
	for _, m := range models {
		figs = append(figs, failuresFigure(l, m))
	}
	figs = append(figs,
		latencyFigure(l, models, styles),
		memoryFigure(l, models, styles),
		cpuFigure(l, models, styles),
		costFigure(l, models, styles),
	)
	if f := workFigure(l); f != nil {
		figs = append(figs, f)
	}
	for _, m := range models {
		figs = append(figs, timelineFigure(l, m, styles[m].color))
	}
	var out []string
	var errs []error
	for _, f := range figs {
		paths, err := f.save(outDir)
		out = append(out, paths...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// palette is Tableau 10: distinct hues that stay apart in print and for
// most colour-blind readers.
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0x9c, 0x75, 0x5f, 0xff}, {0x76, 0xb7, 0xb2, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0xed, 0xc9, 0x48, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

// glyphs tell apart models whose lines lie on top of each other (every
// model sustains the first steps alike).
var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.PyramidGlyph{}, draw.PlusGlyph{}, draw.BoxGlyph{}, draw.RingGlyph{},
}

// modelStyle is how one model is drawn in every chart of a run.
type modelStyle struct {
	color color.Color
	glyph draw.GlyphDrawer
}

// familyHues are the shades each family's models take in turn, so that a
// chart of sixteen models reads as a few kinds first: blues for Go's
// reactors, greens for Python's event loops, reds and oranges for threads
// and processes.
var familyHues = map[string][]color.RGBA{
	"Go reactor":            {{0x1f, 0x4e, 0x9a, 0xff}, {0x4e, 0x79, 0xa7, 0xff}, {0x6b, 0xae, 0xd6, 0xff}, {0x08, 0x30, 0x6b, 0xff}},
	"Go goroutines":         {{0x17, 0xbe, 0xcf, 0xff}, {0x76, 0xb7, 0xb2, 0xff}},
	"Go thread/process":     {{0xd6, 0x27, 0x28, 0xff}, {0xff, 0x9d, 0xa7, 0xff}, {0x9d, 0x02, 0x08, 0xff}},
	"C process":             {{0xf2, 0x8e, 0x2b, 0xff}, {0xb3, 0x5a, 0x00, 0xff}},
	"C reactor":             {{0x5b, 0x5b, 0x5b, 0xff}, {0x9a, 0x9a, 0x9a, 0xff}},
	"C threads":             {{0xe3, 0x6b, 0x00, 0xff}},
	"Python event loop":     {{0x2c, 0x7f, 0x2c, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0x8c, 0xc0, 0x5a, 0xff}, {0x00, 0x44, 0x1b, 0xff}, {0xb8, 0xd8, 0x8b, 0xff}},
	"Python green threads":  {{0x9c, 0x75, 0x5f, 0xff}, {0xed, 0xc9, 0x48, 0xff}},
	"Python thread/process": {{0x7b, 0x3f, 0x9e, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xd4, 0xb9, 0xda, 0xff}},
}

// familyRank orders families as results.FamilyOrder does; unknown ones last.
func familyRank(f string) int {
	if i := slices.Index(results.FamilyOrder, f); i >= 0 {
		return i
	}
	return len(results.FamilyOrder)
}

// byFamily orders models by family, keeping the run's order within one,
// so every legend lists them grouped.
func byFamily(models []string, families map[string]string) []string {
	out := slices.Clone(models)
	slices.SortStableFunc(out, func(a, b string) int { return familyRank(families[a]) - familyRank(families[b]) })
	return out
}

// modelStyles gives each model its family's next shade (the run's palette
// in order for a model of no known family) and the marker of its position,
// so the same run always draws a model the same way.
func modelStyles(models []string, families map[string]string) map[string]modelStyle {
	out := make(map[string]modelStyle, len(models))
	used := map[string]int{}
	other := 0
	for i, m := range models {
		c := palette[other%len(palette)]
		if hues, ok := familyHues[families[m]]; ok {
			c = hues[used[families[m]]%len(hues)]
			used[families[m]]++
		} else {
			other++
		}
		out[m] = modelStyle{color: c, glyph: glyphs[i%len(glyphs)]}
	}
	return out
}
