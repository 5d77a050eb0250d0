package analysis

import "c10klab/runner/internal/results"

// FloorModel is the floor every model is measured against: the cheapest
// echo server one can write on this kernel (models/c-epoll: C,
// edge-triggered epoll, one thread, fixed buffers). A model's CPU per echo
// and user memory per connection as a multiple of the floor's, from the
// same run, say how far it is from what this machine can do at all.
const FloorModel = "c-epoll"

// Floor is the floor's summary that label is compared with: c-epoll's
// measurement under the same work setting and, with --repeat, the same
// repeat, so that a ratio never mixes two conditions. ok is false when
// the run did not measure it so.
func Floor(sums map[string]results.Summary, label string) (results.Summary, bool) {
	base, r := BaseLabel(label)
	_, work := results.SplitWork(base)
	floor := results.WorkLabel(FloorModel, work)
	if r > 0 {
		floor = RepeatLabel(floor, r)
	}
	s, ok := sums[floor]
	return s, ok
}

// Ratio is v as a multiple of the floor's figure f; ok is false when
// either is missing (0: below its resolution, or never measured).
func Ratio(v, f float64) (float64, bool) {
	if v <= 0 || f <= 0 {
		return 0, false
	}
	return v / f, true
}
