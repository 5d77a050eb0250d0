package bench

import (
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/results"
)

// TestValidate: every setting that would fail later, or start far more
// than the machine can hold, is refused before anything starts, with an
// error that names the flag; the defaults and sensible variations pass.
func TestValidate(t *testing.T) {
	// A machine like the lab's: 20,000 open files, 2 CPUs.
	machine := Machine{NoFile: 20000, Tasks: 28000, CPUs: 2}
	tests := []struct {
		name string
		set  func(o *Options)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(o *Options) {}, ""},
		{"two models", func(o *Options) { o.Specs = append(o.Specs, model.Spec{Name: "goroutine"}) }, ""},
		{"a model and its preset", func(o *Options) { o.Specs = []model.Spec{{Name: "forked"}, {Name: "forked", Preset: "seed"}} }, ""},
		{"procs as the open-files limit needs", func(o *Options) { o.Procs = 3 }, ""},
		{"procs per CPU", func(o *Options) { o.Procs = 64 }, ""},
		{"procs for a lowered model limit", func(o *Options) { o.ModelNoFile = 1000; o.Procs = 43 }, ""},
		{"smallest message", func(o *Options) { o.MsgSize = 8 }, ""},
		{"largest message", func(o *Options) { o.MsgSize = 65536 }, ""},
		{"a million connections", func(o *Options) { o.Steps = []int{1000, 1_000_000} }, ""},

		{"duplicate models", func(o *Options) { o.Specs = []model.Spec{{Name: "epoll"}, {Name: "epoll"}} }, "epoll is given twice"},
		{"duplicate presets", func(o *Options) {
			o.Specs = []model.Spec{{Name: "forked", Preset: "seed"}, {Name: "forked", Preset: "seed"}}
		}, "forked-seed is given twice"},
		{"no models", func(o *Options) { o.Specs = nil }, "no models"},
		{"no steps", func(o *Options) { o.Steps = nil }, "no steps"},
		{"negative step", func(o *Options) { o.Steps = []int{-1} }, "must be positive"},
		{"zero step", func(o *Options) { o.Steps = []int{0, 100} }, "must be positive"},
		{"descending steps", func(o *Options) { o.Steps = []int{200, 100} }, "ascending"},
		{"repeated step", func(o *Options) { o.Steps = []int{100, 100} }, "ascending"},
		{"more connections than 201 agents hold", func(o *Options) { o.Steps = []int{10_000_000} }, "swarm agents"},
		{"procs negative", func(o *Options) { o.Procs = -3 }, "--procs -3"},
		{"procs 100000", func(o *Options) { o.Procs = 100000 }, "--procs 100000"},
		{"procs beyond the open-files limit", func(o *Options) { o.Steps = []int{100000}; o.Procs = 7000 }, "open-files limit 20000 allows at most"},
		{"procs beyond the CPUs", func(o *Options) { o.Procs = 65 }, "on 2 CPUs"},
		{"procs beyond the tasks", func(o *Options) {
			o.Steps = []int{100000}
			o.Procs = 6000
			o.Machine = &Machine{NoFile: 20000, Tasks: 1000, CPUs: 2}
		}, "tasks"},
		{"procs beyond the pids limit", func(o *Options) { o.Procs = 10; o.PidsLimit = 5 }, "--pids-limit 5"},
		{"message too small", func(o *Options) { o.MsgSize = 1 }, "message size 1 outside 8..65536"},
		{"message too large", func(o *Options) { o.MsgSize = 10_000_000 }, "message size 10000000 outside 8..65536"},
		{"rate zero", func(o *Options) { o.Rate = 0 }, "--rate 0"},
		{"hold too short", func(o *Options) { o.Hold = time.Millisecond }, "--hold"},
		{"deadline past interval", func(o *Options) { o.Deadline = 2 * time.Second }, "--deadline"},
		{"negative backlog", func(o *Options) { o.Backlog = -5 }, "--backlog -5"},
		{"negative model nofile", func(o *Options) { o.ModelNoFile = -1 }, "--model-nofile -1"},
		{"negative agent nofile", func(o *Options) { o.AgentNoFile = -1 }, "--agent-nofile -1"},
		{"negative pids limit", func(o *Options) { o.PidsLimit = -1 }, "--pids-limit -1"},
		{"no ready timeout", func(o *Options) { o.ReadyTimeout = 0 }, "--ready-timeout"},
		{"no descriptors left", func(o *Options) { o.Machine = &Machine{NoFile: 10, Tasks: 1000, CPUs: 2} }, "open-files limit 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			o.Specs = []model.Spec{{Name: "epoll"}}
			o.Machine = &machine
			tt.set(&o)
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestValidateReadsTheMachine: without a Machine, Validate reads this
// machine's limits and refuses what no machine here could start.
func TestValidateReadsTheMachine(t *testing.T) {
	o := Defaults()
	o.Specs = []model.Spec{{Name: "epoll"}}
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults refused on this machine: %v", err)
	}
	o.Procs = 100000
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--procs 100000") {
		t.Fatalf("--procs 100000: %v", err)
	}
}

func TestModelBudget(t *testing.T) {
	shared := Options{SearchBounds: results.SearchBounds{Search: true, Budget: 40 * time.Second, ShareBudget: true}}
	own := shared
	own.ShareBudget = false
	s := time.Second
	for _, tc := range []struct {
		name        string
		o           Options
		spent       time.Duration
		done, total int
		want        time.Duration
	}{
		{"the first model: its share", shared, 0, 0, 22, 40 * s},
		// py-circuits refused in 1 s: the 21 after it share its 39 s.
		{"what a model leaves goes to the ones after it", shared, 1 * s, 1, 22, (22*40*s - 1*s) / 21},
		{"the last model gets what is left", shared, 21*40*s + 5*s, 21, 22, 35 * s},
		{"never under the floor", shared, 21*40*s + 30*s, 21, 22, 30 * s},
		{"not shared: Budget", own, 1 * s, 1, 22, 40 * s},
		{"no budget", Options{SearchBounds: results.SearchBounds{Search: true, ShareBudget: true}}, 0, 0, 22, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.modelBudget(tc.spent, tc.done, tc.total); got != tc.want {
				t.Errorf("modelBudget(%v, %d, %d) = %v, want %v", tc.spent, tc.done, tc.total, got, tc.want)
			}
		})
	}
}

// The default run of 22 models fits make bench's 15 minutes (issue 18).
func TestDefaultRunBound(t *testing.T) {
	o := Defaults()
	if got := RunBound(o, 22); got > 15*time.Minute {
		t.Errorf("RunBound(Defaults(), 22) = %v, over 15 minutes", got)
	}
	if !o.ShareBudget || RunBound(o, 22) >= 22*Bound(o) {
		t.Errorf("the default budget is not shared: RunBound %v, 22 × Bound %v", RunBound(o, 22), 22*Bound(o))
	}
}
