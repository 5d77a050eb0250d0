package results

import "regexp"

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
