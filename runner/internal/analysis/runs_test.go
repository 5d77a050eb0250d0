package analysis

import (
	"math"
	"testing"
)

func TestSpreadDeviation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		want   float64 // as a fraction
		ok     bool
	}{
		{"no figure", nil, 0, false},
		{"one run", []float64{30000}, 0, true},
		{"all equal", []float64{48000, 48000, 48000}, 0, true},
		{"above the median is the largest", []float64{27500, 30000, 26000}, 2500.0 / 27500, true},
		{"below the median is the largest", []float64{20000, 10000, 19000}, 9000.0 / 19000, true},
		{"even count: the median between the middle two", []float64{10, 20, 30, 40}, 15.0 / 25, true},
		{"a median of 0: nothing to divide by", []float64{0, 0, 4000}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SpreadOf(tc.values).Deviation()
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Deviation(%v) = %v, %v; want %v, %v", tc.values, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSpreadOff(t *testing.T) {
	s := SpreadOf([]float64{20000, 10000, 19000})
	for _, tc := range []struct {
		value float64
		want  float64
	}{
		{19000, 0},
		{20000, 1000.0 / 19000},
		{10000, -9000.0 / 19000},
	} {
		got, ok := s.Off(tc.value)
		if !ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Off(%v) = %v, %v; want %v", tc.value, got, ok, tc.want)
		}
	}
	if _, ok := SpreadOf([]float64{0, 0}).Off(5); ok {
		t.Error("Off against a median of 0 gave a figure")
	}
	if _, ok := (Spread{}).Off(5); ok {
		t.Error("Off without figures gave a figure")
	}
}

func TestCapacityRangeOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b CapacityRange
		want bool
	}{
		{"nested", CapacityRange{27500, 30000}, CapacityRange{28000, 29000}, true},
		{"crossing", CapacityRange{27500, 30000}, CapacityRange{29000, 32000}, true},
		{"touching: 30k failed in one, sustained in the other", CapacityRange{27500, 30000}, CapacityRange{30000, 33000}, false},
		{"apart", CapacityRange{10000, 11000}, CapacityRange{19000, 21000}, false},
		{"open above reaches any higher bracket", CapacityRange{16000, 0}, CapacityRange{40000, 44000}, true},
		{"open above starts past the bracket", CapacityRange{48000, 0}, CapacityRange{40000, 44000}, false},
		{"both open above", CapacityRange{47900, 0}, CapacityRange{48000, 0}, true},
		{"below the first step, both", CapacityRange{0, 1000}, CapacityRange{0, 1000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Overlaps(tc.b); got != tc.want {
				t.Errorf("%v.Overlaps(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := tc.b.Overlaps(tc.a); got != tc.want {
				t.Errorf("%v.Overlaps(%v) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

func TestAllOverlap(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []CapacityRange
		want bool
	}{
		{"none", nil, false},
		{"one run agrees with nothing", []CapacityRange{{1000, 1100}}, false},
		{"three overlapping", []CapacityRange{{16000, 17600}, {16500, 18000}, {17000, 0}}, true},
		{"one pair apart", []CapacityRange{{20000, 22000}, {10000, 11000}, {19000, 21000}}, false},
		{"first and last apart, each overlapping the middle", []CapacityRange{{10, 20}, {15, 30}, {25, 40}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AllOverlap(tc.rs); got != tc.want {
				t.Errorf("AllOverlap(%v) = %v, want %v", tc.rs, got, tc.want)
			}
		})
	}
}
