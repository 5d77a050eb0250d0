package bench

import (
	"testing"
	"time"
)

func TestToWindow(t *testing.T) {
	for _, tc := range []struct {
		span, window time.Duration
		want         float64
	}{
		{2 * time.Second, 2 * time.Second, 1},
		{time.Second, 2 * time.Second, 1}, // within the window: as read
		{8 * time.Second, 2 * time.Second, 0.25},
		{time.Second, 0, 1}, // no window: nothing to scale to
	} {
		if got := toWindow(tc.span, tc.window); got != tc.want {
			t.Errorf("toWindow(%v, %v) = %v, want %v", tc.span, tc.window, got, tc.want)
		}
	}
}
