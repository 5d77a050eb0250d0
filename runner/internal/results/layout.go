package results

import (
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
