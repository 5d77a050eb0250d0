package report

import (
	"encoding/csv"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// CSV file names in a run folder.
const SummaryCSV = "summary.csv"

// TimelineCSV and StepsCSV name a model's CSV files.
func TimelineCSV(model string) string { return "timeline-" + results.FileName(model) + ".csv" }
func StepsCSV(model string) string    { return "steps-" + results.FileName(model) + ".csv" }

// WriteCSV exports the run for spreadsheets and scripts: summary.csv (one
// row per model), and per model timeline-<model>.csv (one row per sample)
// and steps-<model>.csv (one row per step). Maps (failure classes, kernel
// counters) become one column per key seen anywhere in the model's file,
// after their totals. It returns the files written.
func WriteCSV(l *results.Loaded, outDir string) ([]string, error) {
	var written []string
	path := filepath.Join(outDir, SummaryCSV)
	if err := writeCSV(path, summaryRows(l)); err != nil {
		return written, err
	}
	written = append(written, path)
	for _, m := range l.Models() {
		path := filepath.Join(outDir, TimelineCSV(m))
		if err := writeCSV(path, sampleRows(l.Samples(m))); err != nil {
			return written, err
		}
		written = append(written, path)
		path = filepath.Join(outDir, StepsCSV(m))
		if err := writeCSV(path, stepRows(l.Steps(m), l.Samples(m))); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func writeCSV(path string, rows [][]string) error {
	return results.WriteFile(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		return w.WriteAll(rows) // flushes and returns the first write error
	})
}

func summaryRows(l *results.Loaded) [][]string {
	out := [][]string{{"model", "has_summary", "instances", "capacity", "capacity_offered", "failed_offered", "stop",
		"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "user_mem_per_conn_bytes", "kernel_mem_per_conn_bytes",
		"cpu_per_1k_echoes_s", "peak_procs", "peak_threads", "diagnosis", "untrusted", "warnings"}}
	for _, r := range rows(l) {
		s := r.Summary
		out = append(out, []string{s.Model, strconv.FormatBool(!r.derived), itoa(s.Instances), itoa(s.Capacity),
			itoa(s.CapacityOffered), itoa(s.FailedOffered), string(s.Stop),
			ftoa(s.Latency.P50), ftoa(s.Latency.P90), ftoa(s.Latency.P99), ftoa(s.Latency.P999), ftoa(s.Latency.Max),
			ftoa(s.UserMemPerConn), ftoa(s.KernelMemPerConn), ftoa(s.CPUPer1kEchoes), itoa(s.PeakProcs), itoa(s.PeakThreads),
			s.Diagnosis, strings.Join(s.Untrusted, "; "), strings.Join(s.Warnings, "; ")})
	}
	return out
}

func procCols(prefix string) []string {
	return []string{prefix + "procs", prefix + "threads", prefix + "fds", prefix + "rss", prefix + "pss", prefix + "cpu_user", prefix + "cpu_sys"}
}

func procVals(p results.Proc) []string {
	v := []string{itoa(p.Procs), itoa(p.Threads), itoa(p.FDs), i64(p.RSS), i64(p.PSS), ftoa(p.CPUUser), ftoa(p.CPUSys)}
	if p.NoDetail {
		v[2], v[3], v[4] = "", "", "" // not read that second (through the cgroups), not zero
	}
	return v
}

func latCols(prefix string) []string {
	return []string{prefix + "count", prefix + "p50_ms", prefix + "p90_ms", prefix + "p99_ms", prefix + "p999_ms", prefix + "max_ms"}
}

func latVals(p results.Percentiles) []string {
	return []string{i64(p.Count), ftoa(p.P50), ftoa(p.P90), ftoa(p.P99), ftoa(p.P999), ftoa(p.Max)}
}

// mapCols are the flattened columns of maps: one per key, named prefix+key.
type mapCols struct {
	prefix string
	keys   []string
}

func (c mapCols) header() []string {
	out := make([]string, len(c.keys))
	for i, k := range c.keys {
		out[i] = c.prefix + k
	}
	return out
}

func (c mapCols) values(m map[string]int64) []string {
	out := make([]string, len(c.keys))
	for i, k := range c.keys {
		out[i] = i64(m[k])
	}
	return out
}

func sampleRows(samples []results.Sample) [][]string {
	var fm, cm, km []map[string]int64
	for _, s := range samples {
		fm, cm, km = append(fm, s.Swarm.Failures), append(cm, s.Swarm.ClientFailures), append(km, s.System.Counters)
	}
	fails, clients, counters := mapCols{"failures:", analysis.Keys(fm...)}, mapCols{"client_failures:", analysis.Keys(cm...)}, mapCols{"counter:", analysis.Keys(km...)}
	head := []string{"time", "elapsed_s", "step", "offered", "open", "connecting", "sustained", "sent", "echoed",
		"failures_total", "client_failures_total", "lag_max_ms"}
	head = append(head, latCols("latency_")...)
	head = append(head, procCols("model_")...)
	head = append(head, procCols("agents_")...)
	head = append(head, "mem_available", "slab", "sunreclaim", "tcp_inuse", "tcp_orphan", "tcp_tw", "tcp_mem", "cpu_busy_s", "mem_stall_s")
	head = append(append(append(head, fails.header()...), clients.header()...), counters.header()...)
	out := [][]string{head}
	for _, s := range samples {
		w := s.Swarm
		r := []string{s.Time.UTC().Format(time.RFC3339Nano), ftoa(s.Elapsed), itoa(s.Step), itoa(s.Offered), itoa(w.Open),
			itoa(w.Connecting), itoa(w.Sustained), i64(w.Sent), i64(w.Echoed),
			i64(analysis.Total(w.Failures)), i64(analysis.Total(w.ClientFailures)), ftoa(w.LagMaxMs)}
		r = append(r, latVals(w.Latency)...)
		r = append(r, procVals(s.Model)...)
		r = append(r, procVals(s.Agents)...)
		y := s.System
		r = append(r, i64(y.MemAvailable), i64(y.Slab), i64(y.SUnreclaim), i64(y.TCPInUse), i64(y.TCPOrphan), i64(y.TCPTimeWait), i64(y.TCPMem), ftoa(y.CPUBusy), ftoa(y.MemStall))
		r = append(append(append(r, fails.values(w.Failures)...), clients.values(w.ClientFailures)...), counters.values(y.Counters)...)
		out = append(out, r)
	}
	return out
}

func stepRows(steps []results.Step, samples []results.Sample) [][]string {
	var fm, cm, km []map[string]int64
	for _, s := range steps {
		fm, cm, km = append(fm, s.Failures), append(cm, s.ClientFailures), append(km, s.Counters)
	}
	fails, clients, counters := mapCols{"failures:", analysis.Keys(fm...)}, mapCols{"client_failures:", analysis.Keys(cm...)}, mapCols{"counter:", analysis.Keys(km...)}
	head := []string{"index", "offered", "start", "end", "open", "sustained", "ok", "untrusted", "failures_total", "client_failures_total"}
	head = append(head, latCols("latency_")...)
	head = append(head, "echoes")
	head = append(head, procCols("model_")...)
	head = append(head, "agents_cpu", "machine_cpu", "mem_stall_s", "kernel_mem", "user_mem", "user_mem_per_conn", "kernel_mem_per_conn", "cpu_per_1k_echoes_s", "lag_max_ms")
	head = append(append(append(head, fails.header()...), clients.header()...), counters.header()...)
	out := [][]string{head}
	for _, s := range steps {
		r := []string{itoa(s.Index), itoa(s.Offered), s.Start.UTC().Format(time.RFC3339Nano), s.End.UTC().Format(time.RFC3339Nano),
			itoa(s.Open), itoa(s.Sustained), strconv.FormatBool(s.OK), s.Untrusted,
			i64(analysis.Total(s.Failures)), i64(analysis.Total(s.ClientFailures))}
		r = append(r, latVals(s.Latency)...)
		r = append(r, i64(s.Echoes))
		r = append(r, procVals(results.Proc(s.Model))...) // the same columns as a sample's, the CPU the window's
		r = append(r, ftoa(s.AgentsCPU), ftoa(s.MachineCPU), ftoa(s.MemStall), i64(s.KernelMem), i64(s.UserMem),
			optional(analysis.UserMemPerConn(s)), optional(analysis.KernelMemPerConn(s, samples)), optional(analysis.CPUPer1kEchoes(s)), ftoa(s.LagMaxMs))
		r = append(append(append(r, fails.values(s.Failures)...), clients.values(s.ClientFailures)...), counters.values(s.Counters)...)
		out = append(out, r)
	}
	return out
}

// optional leaves a cell empty where a ratio has no value (nothing
// sustained or echoed), rather than writing a misleading 0.
func optional(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return ftoa(v)
}

func itoa(v int) string     { return strconv.Itoa(v) }
func i64(v int64) string    { return strconv.FormatInt(v, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
