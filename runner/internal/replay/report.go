package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"c10klab/runner/internal/plot"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Load reads a server's records back from the run folder.
func Load(dir, server string) ([]Sample, []Exception, []results.Event, error) {
	f, err := os.Open(RecordsPath(dir, server))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load replay records: %w", err)
	}
	defer f.Close()
	var ss []Sample
	var es []Exception
	var evs []results.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a line torn by a crash
		}
		switch {
		case r.Sample != nil:
			ss = append(ss, *r.Sample)
		case r.Exception != nil:
			es = append(es, *r.Exception)
		case r.Event != nil:
			evs = append(evs, *r.Event)
		}
	}
	return ss, es, evs, sc.Err()
}

// WriteReport writes REPLAY.md and the timeline chart from the folder's
// files and rep.
func WriteReport(dir string, rep *Replay) error {
	charts, cerr := drawTimeline(dir, rep)
	md := Markdown(rep, charts)
	if err := os.WriteFile(filepath.Join(dir, ReplayReport), []byte(md), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ReplayReport, err)
	}
	return cerr
}

// Verdicts is the one-screen text for a terminal: per server, the
// headline and its mechanisms, wrapped to 100 columns.
func Verdicts(rep *Replay) string { return verdicts(rep, false) }

// verdicts writes the verdict as text, or as Markdown (bold server names,
// list items that wrap by themselves).
func verdicts(rep *Replay, md bool) string {
	var b strings.Builder
	item := func(indent, text string) {
		if md {
			fmt.Fprintf(&b, "%s- %s\n", indent, text)
			return
		}
		b.WriteString(wrap(indent+"- ", indent+"  ", text, 100))
	}
	b.WriteString(summary(rep, md))
	for _, oc := range rep.Outcomes {
		v := oc.Verdict
		head := fmt.Sprintf("%s server (%s, %.0f s, %s): %s", oc.Server, oc.Script, oc.RunSeconds, oc.Stop, v.Headline)
		if md {
			fmt.Fprintf(&b, "**%s server** (%s, %.0f s, %s): %s\n\n", oc.Server, oc.Script, oc.RunSeconds, oc.Stop, v.Headline)
		} else {
			b.WriteString(wrap("", "  ", head, 100))
		}
		for _, f := range v.Mechanisms {
			item("  ", f.Text)
		}
		for _, f := range v.Other {
			item("  ", f.Text)
		}
		if md {
			b.WriteString("\n")
		}
	}
	if len(rep.Outcomes) > 0 {
		if md {
			b.WriteString("**The original's settings**\n\n")
		} else {
			b.WriteString("The original's settings:\n")
		}
		// The settings findings hold for both; the last one differs.
		for _, f := range rep.Outcomes[0].Verdict.Settings {
			if f.Key != KeyWouldHave {
				item("  ", f.Text)
			}
		}
		for _, oc := range rep.Outcomes {
			for _, f := range oc.Verdict.Settings {
				if f.Key == KeyWouldHave {
					item("  ", oc.Server+": "+f.Text)
				}
			}
		}
	}
	return b.String()
}

// summary is the verdict's table: a row per server.
func summary(rep *Replay, md bool) string {
	head := []string{"server", "side", "client's own failures", "reached the server", "taken", "failed on the server's side", "half-open"}
	rows := [][]string{head}
	for _, oc := range rep.Outcomes {
		v := oc.Verdict
		side := v.Side
		if side == "" {
			side = results.SideNone
		}
		srv := max(v.ServerFailures, v.KernelFailed)
		what := map[string]int{}
		for _, f := range oc.Failures {
			if f.Side == results.SideServer {
				what[f.Name] += f.Count
			}
		}
		rows = append(rows, []string{oc.Server, string(side),
			fmt.Sprintf("%s (limit %s)", units.Grouped(v.ClientFailures), units.Grouped(oc.ClientNoFile)),
			units.Grouped(v.Reached),
			units.Grouped(oc.End.ServerEstab), strings.TrimSpace(units.Grouped(srv) + " " + names(what)), units.Grouped(v.NotAccepted)})
	}
	var b strings.Builder
	if md {
		for i, r := range rows {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
			if i == 0 {
				b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
			}
		}
		b.WriteString("\n")
		return b.String()
	}
	w := make([]int, len(head))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s  ", w[i], c)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

// names lists errno names, most frequent first: "ETIMEDOUT, ECONNRESET".
func names(m map[string]int) string { return strings.Join(byCount(m), ", ") }

// wrap breaks text into lines of at most width columns, the first
// prefixed by first, the others by rest.
func wrap(first, rest, text string, width int) string {
	var b strings.Builder
	line := first
	fresh := true
	for _, w := range strings.Fields(text) {
		if !fresh && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, fresh = rest, true
		}
		if !fresh {
			line += " "
		}
		line += w
		fresh = false
	}
	b.WriteString(line + "\n")
	return b.String()
}

// Markdown is REPLAY.md.
func Markdown(rep *Replay, charts []string) string {
	var b strings.Builder
	c := rep.Config
	fmt.Fprintf(&b, "# Replay of the original experiment (%s)\n\n", rep.ID)
	fmt.Fprintf(&b, "The question's own programs (replay/original/, ported to Python 3 where the language demands it; see its README), run on %s with %s, %s: the client's %s threads connect to %s:%s by name, under an open-files limit of %s, each sending \"test message\" every second and never reading.",
		rep.Env.Kernel, "Python "+rep.Probe.Python, rep.Probe.Libc, units.Grouped(c.Threads), c.Host, portOf(c.Addr), units.Grouped(c.ClientNoFile))
	if c.Netns {
		b.WriteString(" Each server and its client ran in a network namespace of their own, so the kernel counters below are theirs alone.")
	}
	if c.SynRetries > 0 {
		fmt.Fprintf(&b, " Inside that namespace net.ipv4.tcp_syn_retries was set to %d to make unanswered connect()s give up sooner (the host's setting is untouched).", c.SynRetries)
	}
	fmt.Fprintf(&b, " Each replay lasted at most %v, ending earlier once nothing was left for the kernel to resolve and nothing changed for %v; then the client was killed and the server watched for %v.\n\n", c.Duration, c.Quiet, c.After)
	b.WriteString("## Verdict\n\n" + verdicts(rep, true) + "\n")
	for _, oc := range rep.Outcomes {
		fmt.Fprintf(&b, "## %s server\n\n", oc.Server)
		fmt.Fprintf(&b, "| figure | value |\n|---|--:|\n")
		rows := [][2]string{
			{"replay length (s), and why it ended", fmt.Sprintf("%.0f, %s", oc.RunSeconds, oc.Stop)},
			{"server processes / threads, peak", fmt.Sprintf("%s / %s", units.Grouped(oc.Peak.ServerProcs), units.Grouped(oc.Peak.ServerThreads))},
			{"client threads / open files, peak (limit)", fmt.Sprintf("%s / %s (%s)", units.Grouped(oc.Peak.ClientThreads), units.Grouped(oc.Peak.ClientFDs), units.Grouped(oc.ClientNoFile))},
			{"listen backlog (ss Send-Q) / accept queue, peak", fmt.Sprintf("%d / %d", oc.Backlog, oc.Peak.AcceptQueue)},
			{"client sockets established / in connect() (SYN-SENT), peak", fmt.Sprintf("%s / %s", units.Grouped(oc.Peak.ClientEstab), units.Grouped(oc.Peak.SynSent))},
			{"at the end, client side: established / SYN-SENT / unacknowledged data", fmt.Sprintf("%s / %s / %s", units.Grouped(oc.End.ClientEstab), units.Grouped(oc.End.SynSent), units.Grouped(oc.End.Unacked))},
			{"at the end, server side: established (accepted or queued)", units.Grouped(oc.End.ServerEstab)},
			{"server CPU (cores): client alive / client gone", fmt.Sprintf("%.2f / %.2f", oc.CPURun, oc.CPUAfter)},
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
		}
		keys := make([]string, 0, len(oc.Counters))
		for k, v := range oc.Counters {
			if v != 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s (Δ over the run) | %s |\n", k, units.Grouped(oc.Counters[k]))
		}
		b.WriteString("\nClient exceptions, by statement, type and errno (from the thread wrapper's JSON lines):\n\n")
		b.WriteString("| side | cause | statement | exception | count | first (s) | first connection # | client fds then |\n|---|---|---|---|--:|--:|--:|--:|\n")
		for _, f := range oc.Failures {
			en := "—"
			if f.Errno != nil {
				en = fmt.Sprintf("%s (%d)", f.Name, *f.Errno)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s %s | %s | %.1f | %s | %s |\n", f.Side, f.Cause, f.Op, f.Type, en, units.Grouped(f.Count), f.First, units.Grouped(f.FirstIndex), units.Grouped(f.FDsAtFirst))
		}
		if len(oc.Failures) == 0 {
			b.WriteString("| — | none | | | 0 | | | |\n")
		}
		b.WriteString("\n")
	}
	if rep.Measure != "" {
		fmt.Fprintf(&b, "## The same servers measured by the swarm\n\nSee [%s](%s/REPORT.md): the Python models measured properly (by IP address, a swarm of agents, every echo checked) beside the event-loop models.\n\n", rep.Measure, rep.Measure)
	}
	for _, ch := range charts {
		if strings.HasSuffix(ch, ".png") {
			fmt.Fprintf(&b, "![timeline](%s)\n\n", filepath.Base(ch))
		}
	}
	b.WriteString("Files: replay.json (settings, probe, outcomes and verdicts), replay-<server>.jsonl (a sample a second, every client exception, events), replay-<server>.stdout/.stderr (the server's own output), replay-<server>.client-stderr (the client's tracebacks, first MiB).\n")
	return b.String()
}

func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

// drawTimeline draws both sides over time, a column per server.
func drawTimeline(dir string, rep *Replay) ([]string, error) {
	var rows [4][]plot.Panel
	for _, oc := range rep.Outcomes {
		ss, es, _, err := Load(dir, oc.Server)
		if err != nil {
			return nil, err
		}
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = s.Elapsed
		}
		col := func(f func(Sample) float64) []float64 {
			out := make([]float64, len(ss))
			for i, s := range ss {
				out[i] = f(s)
			}
			return out
		}
		var marks []plot.Mark
		for _, s := range ss {
			if s.Phase == PhaseAfter {
				marks = append(marks, plot.Mark{X: oc.RunSeconds, Label: "client killed"})
				break
			}
		}
		limit := make([]float64, len(ss))
		for i := range limit {
			limit[i] = float64(oc.ClientNoFile)
		}
		rows[0] = append(rows[0], plot.Panel{Title: oc.Server + ": client", YLabel: "count", Marks: marks, Series: []plot.Series{
			{Name: "client threads", X: xs, Y: col(func(s Sample) float64 { return float64(s.Client.Threads) })},
			{Name: "client open files", X: xs, Y: col(func(s Sample) float64 { return float64(s.Client.FDs) })},
			{Name: "established", X: xs, Y: col(func(s Sample) float64 { return float64(s.Sockets.ClientEstab) })},
			{Name: "in connect() (SYN-SENT)", X: xs, Y: col(func(s Sample) float64 { return float64(s.Sockets.SynSent) })},
			{Name: "established, data unacknowledged", X: xs, Y: col(func(s Sample) float64 { return float64(s.Sockets.Unacked) })},
			{Name: "open-files limit", X: xs, Y: limit, Dashed: true},
		}})
		rows[1] = append(rows[1], plot.Panel{Title: oc.Server + ": server", YLabel: "count", Marks: marks, Series: []plot.Series{
			{Name: "server processes", X: xs, Y: col(func(s Sample) float64 { return float64(s.Server.Procs) })},
			{Name: "server threads", X: xs, Y: col(func(s Sample) float64 { return float64(s.Server.Threads) })},
			{Name: "accept queue", X: xs, Y: col(func(s Sample) float64 { return float64(s.Sockets.AcceptQueue) })},
			{Name: "established, server side", X: xs, Y: col(func(s Sample) float64 { return float64(s.Sockets.ServerEstab) })},
		}})
		cl, sv := exceptionsBySide(ss, es)
		ctr := func(key string) []float64 { return col(func(s Sample) float64 { return float64(s.Counters[key]) }) }
		rows[2] = append(rows[2], plot.Panel{Title: oc.Server + ": failures and kernel counters (cumulative)", YLabel: "count", Marks: marks, Series: []plot.Series{
			{Name: "client exceptions: client side", X: xs, Y: cl, Dashed: true},
			{Name: "client exceptions: server side", X: xs, Y: sv},
			{Name: "ListenOverflows", X: xs, Y: ctr("TcpExt.ListenOverflows")},
			{Name: "TCPSynRetrans", X: xs, Y: ctr("TcpExt.TCPSynRetrans")},
			{Name: "OutRsts", X: xs, Y: ctr("Tcp.OutRsts")},
		}})
		rows[3] = append(rows[3], plot.Panel{Title: oc.Server + ": server CPU", XLabel: "seconds since the client started", YLabel: "cores", Marks: marks, YMax: float64(max(rep.Env.CPUs, 1)), Series: []plot.Series{
			{Name: "server CPU (cores)", X: xs, Y: cpuSeries(ss)},
		}})
	}
	if len(rep.Outcomes) == 0 {
		return nil, nil
	}
	return plot.Panels(dir, ChartName, "Replay of the original experiment: both sides over time", rows[:])
}

// exceptionsBySide counts the client's exceptions by side, cumulative at
// each sample: the client's own, and the server's.
func exceptionsBySide(ss []Sample, es []Exception) (client, server []float64) {
	sort.Slice(es, func(i, j int) bool { return es[i].Elapsed < es[j].Elapsed })
	client, server = make([]float64, len(ss)), make([]float64, len(ss))
	k, nc, ns := 0, 0, 0
	for i, s := range ss {
		for k < len(es) && es[k].Elapsed <= s.Elapsed {
			side, _, _ := classify(es[k].Op, es[k].Type, es[k].Errno)
			if side == results.SideServer {
				ns++
			} else {
				nc++
			}
			k++
		}
		client[i], server[i] = float64(nc), float64(ns)
	}
	return client, server
}

// cpuSeries is the server's CPU in cores between consecutive samples.
func cpuSeries(ss []Sample) []float64 {
	cpu := make([]float64, len(ss))
	for i := 1; i < len(ss); i++ {
		if dt := ss[i].Elapsed - ss[i-1].Elapsed; dt > 0 {
			cpu[i] = math.Max(0, (serverCPU(ss[i])-serverCPU(ss[i-1]))/dt)
		}
	}
	return cpu
}

// Rejudge reads a replay folder back, explains each outcome again from its
// saved figures, and writes replay.json, REPLAY.md and the chart anew: a
// replay is judged and drawn from its files, so any one can be redone.
func Rejudge(dir string) (*Replay, error) {
	b, err := os.ReadFile(filepath.Join(dir, ReplayFile))
	if err != nil {
		return nil, fmt.Errorf("load replay: %w", err)
	}
	var rep Replay
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("load replay: %s: %w", ReplayFile, err)
	}
	for i := range rep.Outcomes {
		rep.Outcomes[i].Verdict = Judge(&rep.Outcomes[i], rep.Probe)
	}
	if err := writeJSON(filepath.Join(dir, ReplayFile), &rep); err != nil {
		return &rep, err
	}
	return &rep, WriteReport(dir, &rep)
}
