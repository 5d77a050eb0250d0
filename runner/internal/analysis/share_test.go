package analysis

import "testing"

func TestSwarmShare(t *testing.T) {
	for _, tc := range []struct {
		name         string
		swarm, model []int
		modelBusy    float64
		want         float64
	}{
		{"swarm on CPUs of its own", []int{1}, []int{0}, 0.9, 1},
		{"swarm shares the model's CPU", []int{0, 1}, []int{0}, 0.4, 1.6},
		{"model busier than the CPU it shares", []int{0, 1}, []int{0}, 1.3, 1},
		{"model unpinned shares every CPU", []int{0, 1}, nil, 0.5, 1.5},
		{"swarm unpinned: unknown", nil, []int{0}, 0.5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SwarmShare(tc.swarm, tc.model, tc.modelBusy); got != tc.want {
				t.Errorf("SwarmShare(%v, %v, %v) = %v, want %v", tc.swarm, tc.model, tc.modelBusy, got, tc.want)
			}
		})
	}
}
