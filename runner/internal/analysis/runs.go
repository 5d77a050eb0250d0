package analysis

import "math"

// The arithmetic of one model's capacity over several runs (c10klab
// compare over N folders): how far each run lies from the median, and
// whether the runs' differences are inside the noise. Issue 18 asks that
// three fresh default runs each land within ±15% of the median.

// RunTolerance is how far from a model's median capacity a run may land
// before the comparison flags it: ±15%.
const RunTolerance = 0.15

// CapacityRange is where one run puts a model's capacity: it sustained
// Lo and failed at Hi, so the capacity lies in [Lo, Hi); Hi 0 is open
// above (nothing above Lo failed the model: "≥ 48k").
type CapacityRange struct{ Lo, Hi int }

// Overlaps reports whether two runs' ranges share a count: then neither
// run's figure says the other's is wrong, and their difference is inside
// the noise of the search's resolution.
func (r CapacityRange) Overlaps(o CapacityRange) bool {
	below := func(lo int, hi int) bool { return hi == 0 || lo < hi }
	return below(r.Lo, o.Hi) && below(o.Lo, r.Hi)
}

// Deviation is the spread of the figures against their median: the
// largest |value − median| / median, as a fraction; false when there is
// no median to divide by (no figure, or a median of 0).
func (s Spread) Deviation() (float64, bool) {
	if s.N == 0 || s.Median <= 0 {
		return 0, false
	}
	return math.Max(s.Max-s.Median, s.Median-s.Min) / s.Median, true
}

// Off is value's signed distance from the median as a fraction of it;
// false without a median to divide by.
func (s Spread) Off(value float64) (float64, bool) {
	if s.N == 0 || s.Median <= 0 {
		return 0, false
	}
	return (value - s.Median) / s.Median, true
}

// AllOverlap reports whether every two of the ranges overlap: the runs
// agree within their resolution. Fewer than two ranges agree with nothing.
func AllOverlap(rs []CapacityRange) bool {
	if len(rs) < 2 {
		return false
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if !rs[i].Overlaps(rs[j]) {
				return false
			}
		}
	}
	return true
}
