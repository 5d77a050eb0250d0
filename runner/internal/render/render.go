// Package render writes a run folder's outputs from its saved files: the
// charts (package plot) and REPORT.md, REPORT.html and the CSV exports
// (package report), siblings that each read the analysis and know nothing
// of each other; REPORT.html inlines the charts' SVG files.
package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"c10klab/runner/internal/plot"
	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

// Render draws a saved run again: it loads dir, writes the charts, the
// CSV exports, REPORT.md and REPORT.html into it. See RenderLoaded.
func Render(dir string) error {
	l, err := results.Load(dir)
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return RenderLoaded(l, dir)
}

// RenderLoaded writes l's charts, CSV exports, REPORT.md and REPORT.html
// into dir, each file whole or not at all. A chart or export that fails
// is reported in the error; the reports are still written with what
// exists.
//
// A damaged run is never drawn as if it were whole. When a model's
// timeline is gone but its summary exists, nothing is written: the files
// drawn from that timeline before are all that is left of its steps, and
// redrawing would replace them with empty tables. When a timeline's last
// line was cut short, the report is drawn from what was read, says so at
// its top, and the error names the cut.
func RenderLoaded(l *results.Loaded, dir string) error {
	var missing []string
	for _, d := range l.Damaged {
		if d.Line == 0 {
			missing = append(missing, d.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("render report %s: not redrawn, its REPORT.md, REPORT.html, CSVs and charts are left as they were: %s",
			dir, strings.Join(missing, "; "))
	}
	charts, plotErr := plot.Render(l, dir)
	_, csvErr := report.WriteCSV(l, dir)
	md, err := report.Markdown(l, charts)
	if err == nil {
		err = results.WriteBytes(filepath.Join(dir, report.ReportFile), md)
	}
	page, htmlErr := report.HTML(l, charts)
	if htmlErr == nil {
		htmlErr = results.WriteBytes(filepath.Join(dir, report.HTMLFile), page)
	}
	if err := errors.Join(plotErr, csvErr, err, htmlErr, l.Check()); err != nil {
		return fmt.Errorf("render report %s: %w", dir, err)
	}
	return nil
}
