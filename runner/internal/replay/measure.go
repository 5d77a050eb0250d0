package replay

import (
	"path/filepath"
	"slices"

	"c10klab/runner/internal/model"
)

// MeasureModels are the models the replay hands to the swarm afterwards by
// default: the same two servers as models, and the event loop the
// question's answer pointed to.
var MeasureModels = []string{"py-forking", "py-threading", "py-asyncio"}

// MeasureSpecs splits names into the models found under modelsDir and
// those missing, so the replay can measure what exists and say what it
// skipped.
func MeasureSpecs(modelsDir string, names []string) (found []model.Spec, missing []string, err error) {
	ms, err := model.Discover(modelsDir)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		spec, err := model.ParseSpec(name)
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(ms, func(m model.Model) bool { return m.Name == spec.Name }) {
			found = append(found, spec)
		} else {
			missing = append(missing, name)
		}
	}
	return found, missing, nil
}

// SetMeasure records the swarm's run folder in the replay and writes
// replay.json and REPLAY.md again.
func SetMeasure(dir string, rep *Replay, measureDir string) error {
	if rel, err := filepath.Rel(dir, measureDir); err == nil {
		measureDir = rel
	}
	rep.Measure = measureDir
	if err := writeJSON(filepath.Join(dir, ReplayFile), rep); err != nil {
		return err
	}
	return WriteReport(dir, rep)
}
