// Package render writes a run folder's outputs from its saved files: the
// charts (package plot) and REPORT.md and the CSV exports (package
// report), two siblings that each read the analysis and know nothing of
// each other.
package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"c10klab/runner/internal/plot"
	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

// Render draws a saved run again: it loads dir, writes the charts, the
// CSV exports and REPORT.md into it. A chart or export that fails is
// reported in the error; the report is still written with what exists.
func Render(dir string) error {
	l, err := results.Load(dir)
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	charts, plotErr := plot.Render(l, dir)
	_, csvErr := report.WriteCSV(l, dir)
	md, err := report.Markdown(l, charts)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, report.ReportFile), md, 0o644)
	}
	if err := errors.Join(plotErr, csvErr, err); err != nil {
		return fmt.Errorf("render report %s: %w", dir, err)
	}
	return nil
}
