package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Count formats a count the way people read them: 950, 19.9k, 1.2M.
func Count(v float64) string {
	a := math.Abs(v)
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

// Grouped writes an exact count with thousands separators: 19,990. For
// figures a reader compares digit by digit (kernel counters, limits),
// where Count would round.
func Grouped(v int64) string {
	s := strconv.FormatInt(v, 10)
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
