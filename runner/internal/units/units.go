// Package units writes the figures people read in c10klab's reports,
// diagnoses, terminal lines and environment checks: counts, sizes,
// durations and ratios. Each style of figure has one definition here, so
// that "19.9k" or "1.5 GiB" reads the same wherever it is printed.
//
// Several styles of the same quantity exist on purpose; each is named by
// its rounding and kept byte-identical to the reports already written
// (saved runs are replotted and compared with their summaries):
//
//   - Count: about three significant digits with an SI suffix (19.9k), for
//     tables and charts; Grouped: exact, with thousands separators
//     (19,990), for figures read digit by digit.
//   - Bytes: three significant digits (3.1 KiB); BytesTenths: one decimal
//     (4.0 KiB), the environment's limits; BytesKiB: whole KiB below a MiB
//     (512 KiB), the diagnosis's memory figures.
//   - Millis and Seconds: three significant digits (1.2 ms); MillisTenths:
//     one decimal (12.3 ms, 1.25 s), the diagnosis's latencies.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Count formats a count the way people read them: 950, 19.9k, 1.2M.
func Count(v float64) string {
	a := math.Abs(v)
	// A figure that rounds to a thousand of its unit reads in the next
	// one: 999,990 connections held is "1M", not "1000k", which put
	// epoll's million at "≥ 1000k" in the scale run's summary.
	for _, unit := range []float64{1e3, 1e6, 1e9} {
		if a < unit && math.Round(a/unit*1e3) >= 1e3 {
			a = unit
		}
	}
	switch {
	case a < 1e3:
		return fmt.Sprintf("%.0f", v)
	case a < 1e6:
		return scaled(v/1e3) + "k"
	case a < 1e9:
		return scaled(v/1e6) + "M"
	default:
		return scaled(v/1e9) + "G"
	}
}

// Signed is any signed integer type a count comes in.
type Signed interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

// Grouped writes an exact count with thousands separators: 19,990. For
// figures a reader compares digit by digit (kernel counters, limits),
// where Count would round.
func Grouped[T Signed](v T) string {
	s := strconv.FormatInt(int64(v), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Bytes formats a size in IEC units: 512 B, 3.1 KiB, 12 MiB.
func Bytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return scaled(v) + " " + units[i]
}

// BytesTenths formats a size with one decimal from KiB up: 512 B,
// 4.0 KiB, 1.5 GiB; the environment's limits and warnings use it.
func BytesTenths(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// BytesKiB formats a size in whole KiB below a MiB and with one decimal
// above: 512 KiB, 1.5 MiB, 3.2 GiB; the diagnosis's memory figures use it.
func BytesKiB(v int64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(v)/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", v>>10)
}

// Millis formats a duration given in milliseconds: 850 µs, 1.2 ms, 2.3 s.
func Millis(ms float64) string {
	a := math.Abs(ms)
	switch {
	case a == 0:
		return "0"
	case a < 1:
		return scaled(ms*1e3) + " µs"
	case a < 1e3:
		return scaled(ms) + " ms"
	default:
		return scaled(ms/1e3) + " s"
	}
}

// Seconds formats a duration given in seconds, as Millis does.
func Seconds(s float64) string { return Millis(s * 1e3) }

// MillisTenths formats a duration given in milliseconds with one decimal
// below a second and two above: 0.4 ms, 12.3 ms, 1.25 s; the diagnosis's
// latencies use it.
func MillisTenths(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// Factor formats a ratio to two significant digits, whole from ten up:
// "0.98×", "2.8×", "31×", "155×".
func Factor(r float64) string {
	if r >= 9.95 {
		return strconv.FormatFloat(math.Round(r), 'f', -1, 64) + "×"
	}
	return strconv.FormatFloat(r, 'g', 2, 64) + "×"
}

// scaled prints about three significant digits without trailing zeros.
func scaled(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
