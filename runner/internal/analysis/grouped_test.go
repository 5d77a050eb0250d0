package analysis

import "testing"

func TestGrouped(t *testing.T) {
	for _, tt := range []struct {
		v    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {42943, "42,943"},
		{-1500, "-1,500"}, {-999, "-999"}, {2466116, "2,466,116"},
	} {
		if got := Grouped(tt.v); got != tt.want {
			t.Errorf("Grouped(%d) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
