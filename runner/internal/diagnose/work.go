package diagnose

import (
	"fmt"

	"c10klab/contract"
	"c10klab/runner/internal/results"
)

// workLimit names the work each message cost the model (bench --work) when
// the figures show it was the limit. A handler that blocks D per message
// serves at most 1/D messages a second on each thread it blocks, with its
// CPU idle: an event loop is one such thread. One that burns D of CPU per
// message serves at most one message per D on each CPU it has. blocking is
// true for the first, whose mechanism is then the work itself.
func workLimit(ev *evidence) (why string, blocking bool) {
	in, st := ev.in, ev.first
	if in.Work == "" || st.HoldSeconds <= 0 {
		return "", false
	}
	w, err := contract.ParseWorkValue(in.Work)
	if err != nil {
		return "", false
	}
	cpus := modelCPUs(in)
	echoed := float64(st.Echoes) / st.HoldSeconds
	due := results.DueEchoes(st, in.Config.Interval) / st.HoldSeconds
	busy := modelBusy(st)
	switch {
	case w.Block > 0 && busy < 0.5*float64(cpus):
		return fmt.Sprintf("the handler blocks %v per message: at most ~%s messages a second on each thread it blocks, and %s a second of the %s due came back, with the model's CPU %.0f%% busy",
			w.Block, n(int(1/w.Block.Seconds()+0.5)), n(int(echoed+0.5)), n(int(due+0.5)), 100*busy/float64(cpus)), true
	case w.CPU > 0 && ev.sat.full:
		return fmt.Sprintf("each message costs %v of CPU: at most ~%s messages a second on %d CPU, and %s a second of the %s due came back",
			w.CPU, n(int(float64(cpus)/w.CPU.Seconds()+0.5)), cpus, n(int(echoed+0.5)), n(int(due+0.5))), false
	}
	return "", false
}
