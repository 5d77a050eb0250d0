package units

import (
	"math"
	"strings"
	"testing"
)

// The figures below are the ones reports already written carry: a change
// here shows in every golden report and every replotted run.
func TestFloatFormatters(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(float64) string
		in   float64
		want string
	}{
		{"Count", Count, 0, "0"},
		{"Count", Count, 950, "950"},
		{"Count", Count, 999.4, "999"},
		{"Count", Count, 1000, "1k"},
		{"Count", Count, 19900, "19.9k"},
		{"Count", Count, 20000, "20k"},
		{"Count", Count, 48000, "48k"},
		{"Count", Count, 1234567, "1.23M"},
		{"Count", Count, 2.5e9, "2.5G"},
		{"Count", Count, -1500, "-1.5k"},
		{"Count", Count, 0.4, "0"}, // below its resolution: a count is whole
		// A figure that rounds up to a thousand of its unit reads in the
		// next one: "1M", not "1000k" (epoll's 999,990 connections held
		// read "≥ 1000k" in the scale run of 20261203).
		{"Count", Count, 999.49, "999"},
		{"Count", Count, 999.96, "1k"},
		{"Count", Count, 999_499, "999k"},
		{"Count", Count, 999_700, "1M"},
		{"Count", Count, 999_990, "1M"},
		{"Count", Count, -999_700, "-1M"},
		{"Count", Count, 999.7e6, "1G"},

		{"Bytes", Bytes, 0, "0 B"},
		{"Bytes", Bytes, 512, "512 B"},
		{"Bytes", Bytes, 1024, "1 KiB"},
		{"Bytes", Bytes, 3174, "3.1 KiB"},
		{"Bytes", Bytes, 12 << 20, "12 MiB"},
		{"Bytes", Bytes, 1.5 * (1 << 30), "1.5 GiB"},
		{"Bytes", Bytes, 3 << 50, "3072 TiB"}, // TiB is the largest unit
		{"Bytes", Bytes, -2048, "-2 KiB"},
		{"Bytes", Bytes, 1023.4, "1023 B"},
		{"Bytes", Bytes, 1023.7, "1024 B"},
		{"Bytes", Bytes, 1023.7 * 1024, "1024 KiB"},

		{"Millis", Millis, 0, "0"},
		{"Millis", Millis, 0.0004, "0.4 µs"},
		{"Millis", Millis, 0.85, "850 µs"},
		{"Millis", Millis, 1, "1 ms"},
		{"Millis", Millis, 1.2, "1.2 ms"},
		{"Millis", Millis, 2300, "2.3 s"},
		{"Millis", Millis, -1.5, "-1.5 ms"},
		{"Millis", Millis, 0.9994, "999 µs"},
		{"Millis", Millis, 0.9997, "1000 µs"},
		{"Millis", Millis, 999.4, "999 ms"},
		{"Millis", Millis, 999.7, "1000 ms"},
		{"Seconds", Seconds, 0.0091, "9.1 ms"},
		{"Seconds", Seconds, 40, "40 s"},

		{"MillisTenths", MillisTenths, 0, "0.0 ms"},
		{"MillisTenths", MillisTenths, 12.34, "12.3 ms"},
		{"MillisTenths", MillisTenths, 999.9, "999.9 ms"},
		{"MillisTenths", MillisTenths, 999.96, "1000.0 ms"},
		{"MillisTenths", MillisTenths, 1000, "1.00 s"},
		{"MillisTenths", MillisTenths, 1254, "1.25 s"},
		{"MillisTenths", MillisTenths, -450, "-450.0 ms"}, // a median under the deadline

		{"Factor", Factor, 0.98, "0.98×"},
		{"Factor", Factor, 1, "1×"},
		{"Factor", Factor, 2.84, "2.8×"},
		{"Factor", Factor, 9.94, "9.9×"},
		{"Factor", Factor, 9.95, "10×"},
		{"Factor", Factor, 31.4, "31×"},
		{"Factor", Factor, 155, "155×"},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s(%v) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// A figure that is not a number must not read as one.
func TestNotANumber(t *testing.T) {
	for name, f := range map[string]func(float64) string{
		"Count": Count, "Bytes": Bytes, "Millis": Millis, "MillisTenths": MillisTenths, "Factor": Factor,
	} {
		if got := f(math.NaN()); !strings.Contains(got, "NaN") {
			t.Errorf("%s(NaN) = %q, want NaN in it", name, got)
		}
	}
}

func TestGrouped(t *testing.T) {
	for _, tt := range []struct {
		v    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {19990, "19,990"}, {42943, "42,943"},
		{-999, "-999"}, {-1500, "-1,500"}, {-32768, "-32,768"}, {1233085, "1,233,085"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := Grouped(tt.v); got != tt.want {
			t.Errorf("Grouped(%d) = %q, want %q", tt.v, got, tt.want)
		}
	}
	// Any signed integer type, with no conversion at the call site.
	if got := Grouped(int32(-20000)); got != "-20,000" {
		t.Errorf("Grouped(int32) = %q", got)
	}
	if got := Grouped(19990); got != "19,990" {
		t.Errorf("Grouped(int) = %q", got)
	}
}

func TestIntegerSizes(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    func(int64) string
		in   int64
		want string
	}{
		{"BytesTenths", BytesTenths, 0, "0 B"},
		{"BytesTenths", BytesTenths, 512, "512 B"},
		{"BytesTenths", BytesTenths, 1023, "1023 B"},
		{"BytesTenths", BytesTenths, 4096, "4.0 KiB"},
		{"BytesTenths", BytesTenths, 1536 << 20, "1.5 GiB"},
		{"BytesTenths", BytesTenths, 575796 * 4096, "2.2 GiB"},
		{"BytesTenths", BytesTenths, 1 << 62, "4.0 EiB"},
		{"BytesTenths", BytesTenths, -4096, "-4096 B"},
		{"BytesTenths", BytesTenths, 1<<20 - 1<<10, "1023.0 KiB"},
		{"BytesTenths", BytesTenths, 1<<20 - 1, "1024.0 KiB"}, // as Count: pinned
		{"BytesTenths", BytesTenths, 1 << 20, "1.0 MiB"},

		{"BytesKiB", BytesKiB, 0, "0 KiB"},
		{"BytesKiB", BytesKiB, 1023, "0 KiB"},
		{"BytesKiB", BytesKiB, 512 << 10, "512 KiB"},
		{"BytesKiB", BytesKiB, 1 << 20, "1.0 MiB"},
		{"BytesKiB", BytesKiB, 1536 << 10, "1.5 MiB"},
		{"BytesKiB", BytesKiB, 3 << 30, "3.0 GiB"},
		{"BytesKiB", BytesKiB, 1<<30 - 100<<10, "1023.9 MiB"},
		{"BytesKiB", BytesKiB, 1<<30 - 1<<10, "1024.0 MiB"}, // as Count: pinned
		{"BytesKiB", BytesKiB, 2048 << 30, "2048.0 GiB"},    // GiB is the largest unit
	} {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s(%d) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestLists(t *testing.T) {
	for _, tt := range []struct {
		in   []int
		want string
	}{
		{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 5}, "0,1,5"}, {[]int{-1, 12000}, "-1,12000"},
	} {
		if got := Ints(tt.in); got != tt.want {
			t.Errorf("Ints(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in   map[string]int64
		want string
	}{
		{nil, ""},
		{map[string]int64{"deadline": 1}, "deadline ×1"},
		// Largest first, ties by name; the count exact, not grouped.
		{map[string]int64{"read:EOF": 3, "connect:ETIMEDOUT": 120, "deadline": 3}, "connect:ETIMEDOUT ×120, deadline ×3, read:EOF ×3"},
		{map[string]int64{"accept:EMFILE": 19990, "b": 0}, "accept:EMFILE ×19990, b ×0"},
	} {
		if got := Tally(tt.in); got != tt.want {
			t.Errorf("Tally(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
