package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"c10klab/runner/internal/plot"
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
	_, csvErr := WriteCSV(l, dir)
	md, err := Markdown(l, charts)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, ReportFile), md, 0o644)
	}
	if err := errors.Join(plotErr, csvErr, err); err != nil {
		return fmt.Errorf("render report %s: %w", dir, err)
	}
	return nil
}
