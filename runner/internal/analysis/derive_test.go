package analysis

import (
	"testing"

	"c10klab/runner/internal/results"
)

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		f    func(float64) string
		in   float64
		want string
	}{
		{Count, 950, "950"}, {Count, 19900, "19.9k"}, {Count, 20000, "20k"}, {Count, 1234567, "1.23M"},
		{Bytes, 512, "512 B"}, {Bytes, 3174, "3.1 KiB"}, {Bytes, 12 << 20, "12 MiB"},
		{Millis, 0.85, "850 µs"}, {Millis, 1.2, "1.2 ms"}, {Millis, 2300, "2.3 s"}, {Millis, 0, "0"},
		{Seconds, 0.0091, "9.1 ms"},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%v → %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRatiosWithoutDivisionByZero(t *testing.T) {
	s := results.Step{UserMem: 4096, KernelMem: 4096, Model: results.Proc{CPUUser: 1}}
	if _, ok := UserMemPerConn(s); ok {
		t.Error("user memory per connection with nothing sustained")
	}
	if _, ok := KernelMemPerConn(s, nil); ok {
		t.Error("kernel memory per connection with nothing sustained")
	}
	if _, ok := CPUPer1kEchoes(s); ok {
		t.Error("CPU per echo with nothing echoed")
	}
	s.Sustained, s.Echoes = 4, 2000
	if v, _ := UserMemPerConn(s); v != 1024 {
		t.Errorf("user memory per connection = %v, want 1024", v)
	}
	if v, _ := CPUPer1kEchoes(s); v != 0.5 {
		t.Errorf("CPU per 1k echoes = %v, want 0.5", v)
	}
}
