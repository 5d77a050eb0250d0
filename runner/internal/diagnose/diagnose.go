// Package diagnose explains, in one sentence backed by figures, the first
// failure a model met: which side failed, with which errno or kernel
// counter, at how many connections, and which limit or mechanism explains
// it. It reads only recorded data, so a saved run can be explained again.
package diagnose

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"c10klab/contract"
	"c10klab/runner/internal/results"
)

// Input is what a model's run recorded.
type Input struct {
	Model        string
	Instances    int
	Steps        []results.Step
	Reports      []results.ServerReport
	Events       []results.Event
	Stop         string // results.Stop*
	StopDetail   string
	Env          results.Environment
	SustainRatio float64
	ModelCPUs    int // CPUs the model was pinned to; 0: not pinned (all of them)
	ModelNoFile  int // the model's open-files limit when the run lowered it; 0: the environment's
}

// Result is the diagnosis.
type Result struct {
	Side     string // "server", "clients", "swarm", "none"
	Sentence string
	Limit    string // the limit or mechanism named, "" if none
	Warnings []string
}

// Diagnose explains the first failure in in.
func Diagnose(in Input) Result {
	first := firstFailing(in.Steps)
	at := 0
	if first != nil {
		at = lastGood(in.Steps, first.Index)
	}
	switch in.Stop {
	case results.StopError:
		return Result{Side: "server", Sentence: fmt.Sprintf("%s could not be measured: %s", in.Model, in.StopDetail)}
	case results.StopExited:
		return exited(in, at)
	case results.StopGuard:
		s := fmt.Sprintf("server: stopped by the resource guard at %s connections: %s", n(at), in.StopDetail)
		limit := "memory guard"
		if strings.Contains(in.StopDetail, "pids limit") {
			// The guard's pids limit sits below the kernel's own, to keep
			// the machine usable: name the kernel limit it stands in for.
			limit = "threads/processes"
			s += "; the guard's pids limit (by default set below the kernel's, so the machine stays usable) stands in for the kernel's own — " + threadLimits(in.Env)
		}
		return Result{Side: "server", Sentence: s, Limit: limit}
	case results.StopSwarm:
		return Result{Side: "swarm", Sentence: fmt.Sprintf("swarm: the clients, not the model, were the limit at %s offered: %s", n(offered(first)), in.StopDetail)}
	}
	if first == nil {
		top := 0
		if len(in.Steps) > 0 {
			top = in.Steps[len(in.Steps)-1].Sustained
		}
		s := fmt.Sprintf("no failure: %s sustained all %s connections offered", in.Model, n(top))
		if in.Stop == results.StopInterrupted {
			s += " before the run was interrupted"
		} else {
			s += " (target reached; offer more with --steps to find its limit)"
		}
		if k, at := earlyFailures(in.Steps); k > 0 {
			s += fmt.Sprintf("; %d message(s) failed along the way, from %s offered on, below the %.0f%% that fails a step", k, n(at), 100*(1-in.SustainRatio))
		}
		return Result{Side: "none", Sentence: s}
	}
	if r := serverReported(in, first, at); r != nil {
		return *r
	}
	return clientView(in, first, at)
}

// firstFailing is the first step that did not sustain what it offered.
// Failures on a step that still sustained are noise at that load; the step
// that failed is what the diagnosis explains.
func firstFailing(steps []results.Step) *results.Step {
	for i := range steps {
		if !steps[i].OK {
			return &steps[i]
		}
	}
	return nil
}

// earlyFailures sums the failures of steps that were still sustained.
func earlyFailures(steps []results.Step) (int64, int) {
	var n int64
	first := -1
	for _, st := range steps {
		if !st.OK {
			break
		}
		for _, v := range st.Failures {
			n += v
		}
		if n > 0 && first < 0 {
			first = st.Offered
		}
	}
	return n, first
}

// lastGood is the most connections sustained before step index failed.
func lastGood(steps []results.Step, index int) int {
	best := 0
	for _, st := range steps {
		if st.Index <= index {
			best = max(best, st.Sustained)
		}
	}
	return best
}

func offered(st *results.Step) int {
	if st == nil {
		return 0
	}
	return st.Offered
}

func exited(in Input, at int) Result {
	d := in.StopDetail
	switch {
	case strings.Contains(d, "failed to create new OS thread"):
		return Result{Side: "server", Limit: "threads",
			Sentence: fmt.Sprintf("server: the Go runtime could not create an OS thread at about %s connections and aborted the process (%s) — %s", n(at), errnoIn(d), threadLimits(in.Env))}
	case strings.Contains(d, "thread limit") || strings.Contains(d, "-thread limit"):
		return Result{Side: "server", Limit: "Go thread cap",
			Sentence: fmt.Sprintf("server: the process exceeded Go's thread cap (runtime/debug.SetMaxThreads) at about %s connections and aborted", n(at))}
	case strings.Contains(d, "signal: killed"):
		return Result{Side: "server", Limit: "memory",
			Sentence: fmt.Sprintf("server: the model was killed (SIGKILL) at about %s connections — most likely the kernel's OOM killer or the memory guard: %s", n(at), d)}
	}
	return Result{Side: "server", Sentence: fmt.Sprintf("server: the model exited by itself at about %s connections: %s", n(at), d)}
}

func errnoIn(s string) string {
	if i := strings.Index(s, "errno="); i >= 0 {
		j := i + len("errno=")
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if e, err := strconv.Atoi(s[j:k]); err == nil && e == 11 {
			return "errno 11, EAGAIN"
		}
		return "errno " + s[j:k]
	}
	return "see stderr"
}

func threadLimits(env results.Environment) string {
	var parts []string
	for _, l := range env.Limits {
		switch {
		case strings.Contains(l.Name, "pid_max"), strings.Contains(l.Name, "threads-max"), strings.Contains(strings.ToLower(l.Name), "nproc"), strings.Contains(l.Name, "pids"):
			parts = append(parts, fmt.Sprintf("%s %s", l.Name, l.Value))
		}
	}
	if len(parts) == 0 {
		return "a thread or process limit"
	}
	return "thread limits here: " + strings.Join(parts, ", ")
}

// serverReported explains a failure from the model's own reports.
func serverReported(in Input, first *results.Step, at int) *Result {
	agg := map[string]*results.ServerReport{}
	var keys []string
	for i := range in.Reports {
		r := in.Reports[i]
		if r.Kind == contract.KindRead || r.Kind == contract.KindWrite {
			continue // consequences, seen from the server; the client view says more
		}
		k := r.Kind + ":" + r.Errno
		if a, ok := agg[k]; ok {
			a.Count += r.Count
			continue
		}
		cp := r
		agg[k] = &cp
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	r := agg[keys[0]] // the first kind reported
	conns := int(r.Conns) * max(in.Instances, 1)
	switch {
	case r.Kind == contract.KindAccept && (r.Errno == "EMFILE" || r.Errno == "ENFILE"):
		lim := limitValue(in.Env, "open files (soft)")
		if in.ModelNoFile > 0 {
			lim = strconv.Itoa(in.ModelNoFile)
		}
		s := fmt.Sprintf("server: accept() failed with %s (×%d) at %s connections — open-files limit %s per process", r.Errno, r.Count, n(conns), lim)
		if in.Instances > 1 {
			s += fmt.Sprintf(", %d instances", in.Instances)
		}
		return &Result{Side: "server", Limit: "open files", Sentence: s}
	case r.Kind == contract.KindForkCap:
		s := fmt.Sprintf("clients: %s from %s connections on; the model stopped accepting at its cap of %d children (%d server processes)", failureSummary(first), n(at), r.Conns, first.Model.Procs)
		s += queueOverflow(first)
		return &Result{Side: "server", Limit: "fork cap", Sentence: s}
	case r.Kind == contract.KindFork || r.Kind == contract.KindThread:
		what := map[string]string{contract.KindFork: "create a process", contract.KindThread: "create a thread"}[r.Kind]
		return &Result{Side: "server", Limit: r.Kind,
			Sentence: fmt.Sprintf("server: could not %s (%s ×%d) at %s connections — %s", what, r.Errno, r.Count, n(conns), threadLimits(in.Env))}
	}
	return &Result{Side: "server", Sentence: fmt.Sprintf("server: %s failed with %s (×%d) at %s connections; clients saw %s", r.Kind, r.Errno, r.Count, n(conns), failureSummary(first))}
}

// clientView explains a failure from the swarm's classified failures and
// the kernel's counters.
func clientView(in Input, first *results.Step, at int) Result {
	if len(first.ClientFailures) > 0 && len(first.Failures) == 0 {
		return Result{Side: "swarm", Sentence: fmt.Sprintf("swarm: the clients ran out of their own resources at %s offered (%s) — a client limit, not the model's",
			n(first.Offered), FormatCounts(first.ClientFailures))}
	}
	s := fmt.Sprintf("clients: %s at %s offered, %s sustained", failureSummary(first), n(first.Offered), n(first.Sustained))
	if unserved := first.Open - first.Sustained; first.Failures["deadline"] > 0 && unserved > 0 {
		s += fmt.Sprintf("; %s connections were open but got no echo in time: the kernel completed them into the listen queue and the model did not serve them (it stopped accepting or fell behind)", n(unserved))
	}
	s += queueOverflow(first)
	if first.Failures["deadline"] > 0 && first.Latency.Count > 0 {
		s += fmt.Sprintf("; echoes that came back took p50 %s, p99 %s", ms(first.Latency.P50), ms(first.Latency.P99))
	}
	s += cpuSaturation(in, first)
	if v := first.Counters["Tcp.EstabResets"]; v > 0 {
		s += fmt.Sprintf("; the kernel counted %d resets of established connections", v)
	}
	if first.Untrusted != "" {
		s += "; but this step is not trustworthy: " + first.Untrusted
	}
	return Result{Side: "clients", Sentence: s}
}

// cpuSaturation says when the model used (nearly) all the CPU it had
// during the step's hold.
func cpuSaturation(in Input, st *results.Step) string {
	if st.HoldSeconds <= 0 {
		return ""
	}
	cpus := in.ModelCPUs
	if cpus <= 0 {
		cpus = max(in.Env.CPUs, 1)
	}
	busy := (st.Model.CPUUser + st.Model.CPUSys) / st.HoldSeconds
	if busy < 0.9*float64(cpus) {
		return ""
	}
	return fmt.Sprintf("; the model's CPU was saturated (%.0f%% of %d CPU)", 100*busy, cpus)
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func queueOverflow(st *results.Step) string {
	if st == nil {
		return ""
	}
	var parts []string
	if v := st.Counters["TcpExt.ListenOverflows"]; v > 0 {
		parts = append(parts, fmt.Sprintf("the listen queue overflowed %d times (TcpExt.ListenOverflows)", v))
	}
	if v := st.Counters["TcpExt.TCPReqQFullDrop"]; v > 0 {
		parts = append(parts, fmt.Sprintf("%d SYNs were dropped with the SYN queue full", v))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

func failureSummary(st *results.Step) string {
	if st == nil || len(st.Failures) == 0 {
		if st != nil && !st.OK {
			return fmt.Sprintf("only %s of %s offered connections sustained", n(st.Sustained), n(st.Offered))
		}
		return "no classified failure"
	}
	return FormatCounts(st.Failures)
}

func limitValue(env results.Environment, name string) string {
	for _, l := range env.Limits {
		if l.Name == name {
			return l.Value
		}
	}
	return "?"
}

// FormatCounts renders counters as "connect:ETIMEDOUT ×120, read:EOF ×3",
// largest first.
func FormatCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// n formats a count with thousands separators: 19,990.
func n(v int) string {
	s := strconv.Itoa(v)
	if v < 0 {
		return "-" + n(-v)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
