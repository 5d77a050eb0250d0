package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// FileName turns a model name into something safe in a file name and in a
// relative Markdown link: "forked:seed" would otherwise read as a URL scheme.
func FileName(model string) string {
	return unsafeChars.ReplaceAllString(model, "_")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Chart file names in a run folder, without extension: the plots write
// them and the report embeds them, each knowing only this list.
const (
	SustainedChart = "sustained"
	LatencyChart   = "latency"
	MemoryChart    = "memory"
	CPUChart       = "cpu"
	// CostChart: memory, CPU and ramp rate against connections held, on a
	// log scale, from the ramps' samples and the steps' windows.
	CostChart = "cost"
	// WorkChart: each model's capacity under each work setting, for a run
	// measured with --work.
	WorkChart = "work"
)

// FailuresChart and TimelineChart name a model's charts, without extension.
func FailuresChart(model string) string { return "failures-" + FileName(model) }
func TimelineChart(model string) string { return "timeline-" + FileName(model) }

// DueEchoes is how many echoes a step's open connections were due in its
// evaluation window at one message per interval.
func DueEchoes(st *Step, interval time.Duration) float64 {
	if interval <= 0 {
		return 0
	}
	return float64(st.Open) * st.HoldSeconds / interval.Seconds()
}

// NewRunDir creates a run's folder under root, named by its start time and
// suffix ("" for a bench run, "-replay" for a replay). Two runs started in
// the same second (tests in parallel, two terminals) get distinct folders,
// "-2", "-3"..., since the name also names the run's cgroups and one run
// must never take over another's.
func NewRunDir(root string, start time.Time, suffix string) (id, dir string, err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", "", fmt.Errorf("create results folder: %w", err)
	}
	base := start.Format("20060102-150405") + suffix
	for n := 1; n < 1000; n++ {
		id = base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		dir = filepath.Join(root, id)
		err = os.Mkdir(dir, 0o755)
		if err == nil {
			return id, dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", fmt.Errorf("create results folder: %w", err)
		}
	}
	return "", "", fmt.Errorf("create results folder in %s: %w", root, err)
}

// FamilyOrder is the families the shipped models name (their folders'
// family files), in the order reports and charts list them; a family not
// in it comes after.
var FamilyOrder = []string{
	"Go reactor", "Go goroutines", "Go thread/process", "C process",
	"C reactor", "C threads",
	"Python event loop", "Python green threads", "Python thread/process",
	"Node.js event loop", "Rust event loop",
}
