package launch

import "testing"

// With work, a model echoes a request only when all of it has come: the
// readiness probe must be whole requests of the model's size.
func TestProbeBytesWholeRequests(t *testing.T) {
	for _, size := range []int{0, 1, 5, 12, 16, 24, 100} {
		p := probeBytes(size)
		if len(p) < len(probeText) || p[len(p)-1] != '\n' {
			t.Errorf("size %d: probe %q", size, p)
		}
		if size > 0 && len(p)%size != 0 {
			t.Errorf("size %d: probe of %d bytes is not whole requests", size, len(p))
		}
		if size == 0 && string(p) != probeText {
			t.Errorf("no work: probe %q, want %q", p, probeText)
		}
	}
}
