package bench

import (
	"context"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

// TestMissingRequirementSkipsModel: a model whose requires file names
// something the machine lacks is not started; the run goes on with the
// others and its warnings name the model and the requirement.
func TestMissingRequirementSkipsModel(t *testing.T) {
	opt := testOptions(t, testdataModels(t), "needsmissing", "acceptk")
	opt.Steps = []int{20}
	opt.Conformance = false // acceptk caps its connections on purpose
	dir, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("run failed instead of skipping the model: %v", err)
	}
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "model needsmissing skipped: missing command c10klab-no-such-command (not found)"
	if !slices.ContainsFunc(l.Run.Env.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
		t.Errorf("warnings %q: want one containing %q", l.Run.Env.Warnings, want)
	}
	if _, ok := l.Summaries["needsmissing"]; ok {
		t.Errorf("the skipped model has a summary: it was measured")
	}
	if _, ok := l.Summaries["acceptk"]; !ok {
		t.Errorf("the model after the skipped one was not measured")
	}
	if !slices.Equal(l.Run.Models, []string{"acceptk"}) {
		t.Errorf("run.json models %v, want only acceptk", l.Run.Models)
	}
}

// TestAllModelsMissingRequirementsIsAnError: with nothing left to measure
// the run fails and says why.
func TestAllModelsMissingRequirementsIsAnError(t *testing.T) {
	opt := testOptions(t, testdataModels(t), "needsmissing")
	_, err := Run(context.Background(), opt)
	if err == nil || !strings.Contains(err.Error(), "no model to measure") || !strings.Contains(err.Error(), "c10klab-no-such-command") {
		t.Fatalf("err = %v, want no model to measure, naming the missing command", err)
	}
}
