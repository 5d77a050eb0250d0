package analysis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"c10klab/runner/internal/results"
)

// RepeatLabel names the i-th measurement (from 1) of a model that the run
// measures several times (bench --repeat): "epoll.r2".
func RepeatLabel(label string, i int) string { return label + ".r" + strconv.Itoa(i) }

// BaseLabel is the model a repeat's label measures, and which repeat it
// is; a label that is no repeat is returned as it is, with 0.
func BaseLabel(label string) (string, int) {
	i := strings.LastIndex(label, ".r")
	if i < 0 {
		return label, 0
	}
	n, err := strconv.Atoi(label[i+2:])
	if err != nil || n < 1 {
		return label, 0
	}
	return label[:i], n
}

// Spread is a figure over a model's repeats: the median and the range.
type Spread struct {
	N                int // repeats that had the figure
	Median, Min, Max float64
}

// Overlaps reports whether two spreads' ranges overlap: a difference
// between them is inside the run-to-run noise.
func (s Spread) Overlaps(o Spread) bool {
	return s.N > 0 && o.N > 0 && s.Min <= o.Max && o.Min <= s.Max
}

// SpreadOf is the median and range of values.
func SpreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Spread{N: len(v), Median: med, Min: v[0], Max: v[len(v)-1]}
}

func (s Spread) String() string {
	return fmt.Sprintf("%g [%g, %g] over %d", s.Median, s.Min, s.Max, s.N)
}

// Repeated is a model measured several times.
type Repeated struct {
	Model string
	Runs  []results.Summary // in repeat order
}

// Group gathers summaries by the model they measure, in first-seen order;
// a model measured once is a group of one.
func Group(sums []results.Summary) []Repeated {
	var out []Repeated
	at := map[string]int{}
	for _, s := range sums {
		base, _ := BaseLabel(s.Model)
		i, ok := at[base]
		if !ok {
			i = len(out)
			at[base] = i
			out = append(out, Repeated{Model: base})
		}
		out[i].Runs = append(out[i].Runs, s)
	}
	return out
}

// Figure is the spread over the repeats of one summary figure, taking
// only the repeats where value says it is known.
func (r Repeated) Figure(value func(results.Summary) (float64, bool)) Spread {
	var vs []float64
	for _, s := range r.Runs {
		if v, ok := value(s); ok {
			vs = append(vs, v)
		}
	}
	return SpreadOf(vs)
}
