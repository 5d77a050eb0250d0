// Package diagnose explains, in one sentence backed by figures, what
// stopped a model: the side in words (server, clients, swarm, machine
// limit, runner), the mechanism, at how many connections, and the evidence
// for it. It works from what was recorded (steps, samples, the model's own
// reports, the exit and the guard's counters), so it explains a model it
// knows nothing about, and a saved run can be explained again.
//
// It works in three stages, one file each: the evidence is gathered once
// from the records (evidence.go); an ordered table of rules reads it, and
// the first rule that matches names the Cause (rules.go); one renderer
// writes the Cause as the sentence (render.go).
package diagnose

import (
	"c10klab/runner/internal/results"
)

// Input is what a model's run recorded, with its steps already judged.
type Input struct {
	Model      string
	Instances  int
	Steps      []results.Step
	Samples    []results.Sample
	Reports    []results.ServerReport // up to the teardown
	Events     []results.Event
	Stop       results.Stop
	StopDetail string
	Exit       *results.Exit  // the model's own exit, if it exited
	Guard      *results.Event // the guard's trip, if it tripped
	Config     results.Config
	Env        results.Environment
	Capacity   int // the capacity the analysis found
	// Work is the C10K_WORK each message cost the model (bench --work),
	// "" for the plain echo.
	Work string
	// Search and SearchDetail are how the capacity search ended
	// (results.Search*) and its figures; "" when it did not run.
	Search       results.SearchEnd
	SearchDetail string
}

// Result is the diagnosis.
type Result struct {
	Cause    results.Cause
	Sentence string
	Warnings []string
}

// Diagnose explains what stopped the model in in.
func Diagnose(in Input) Result {
	ev := gather(in)
	for _, r := range rules {
		if c, ok := r.match(ev); ok {
			return Result{Cause: c.Cause, Sentence: render(c)}
		}
	}
	// The table's last rule matches every failed step, and the rules
	// before it every other end: nothing comes here.
	c := Cause{Cause: results.Cause{Side: results.SideRunner, Mechanism: results.MechNotMeasurable, At: ev.at},
		Body: "no rule of the diagnosis matched " + in.Model + "'s records"}
	return Result{Cause: c.Cause, Sentence: render(c)}
}
