package results

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestCounterDeltas(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]int64
		want          map[string]int64
	}{
		{"unchanged dropped", map[string]int64{"Tcp.InSegs": 5}, map[string]int64{"Tcp.InSegs": 5}, map[string]int64{}},
		{"rise", map[string]int64{"Tcp.InSegs": 5}, map[string]int64{"Tcp.InSegs": 9}, map[string]int64{"Tcp.InSegs": 4}},
		{"gauge falls", map[string]int64{"Tcp.CurrEstab": 10}, map[string]int64{"Tcp.CurrEstab": 4}, map[string]int64{"Tcp.CurrEstab": -6}},
		{"new key from zero", nil, map[string]int64{"TcpExt.ListenDrops": 3}, map[string]int64{"TcpExt.ListenDrops": 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CounterDeltas(tc.before, tc.after); !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSwarmCountersSub(t *testing.T) {
	earlier := SwarmCounters{Open: 90, Connecting: 5, Sustained: 80, Fresh: 2, RampPauses: 3, Unattempted: 10,
		Sent: 1000, Echoed: 990, Unstamped: 4,
		Failures: map[string]int64{"read:EOF": 2, "deadline": 1}, ClientFailures: map[string]int64{"connect:EMFILE": 1}}
	later := SwarmCounters{Open: 100, Connecting: 0, Sustained: 97, Fresh: 1, RampPauses: 7, Unattempted: 0,
		Sent: 1500, Echoed: 1480, Unstamped: 9,
		Failures: map[string]int64{"read:EOF": 5, "deadline": 1}, ClientFailures: map[string]int64{"connect:EMFILE": 1}}
	d := later.Sub(earlier)
	// Levels are later's; cumulative counts are the change.
	if d.Open != 100 || d.Connecting != 0 || d.Sustained != 97 || d.Fresh != 1 || d.Unattempted != 0 {
		t.Errorf("levels: got %+v, want later's", d)
	}
	if d.RampPauses != 4 || d.Sent != 500 || d.Echoed != 490 || d.Unstamped != 5 {
		t.Errorf("cumulative: got pauses %d sent %d echoed %d unstamped %d, want 4 500 490 5", d.RampPauses, d.Sent, d.Echoed, d.Unstamped)
	}
	if want := map[string]int64{"read:EOF": 3}; !maps.Equal(d.Failures, want) {
		t.Errorf("failures %v, want %v", d.Failures, want)
	}
	if d.ClientFailures == nil || len(d.ClientFailures) != 0 {
		t.Errorf("client failures %v, want an empty map", d.ClientFailures)
	}
	// Sub leaves both operands alone.
	if later.Failures["read:EOF"] != 5 || earlier.Failures["read:EOF"] != 2 {
		t.Errorf("Sub changed its operands: %v, %v", later.Failures, earlier.Failures)
	}
}

func TestSwarmCountersAdd(t *testing.T) {
	var sum SwarmCounters
	agents := []SwarmCounters{
		{Open: 10, Connecting: 1, Sustained: 9, Fresh: 1, RampPauses: 2, Unattempted: 3, Sent: 100, Echoed: 99, Unstamped: 1,
			Failures: map[string]int64{"read:EOF": 1}},
		{Open: 20, Sustained: 20, Sent: 200, Echoed: 200, ClientFailures: map[string]int64{"connect:EMFILE": 2}},
		{Open: 5, Failures: map[string]int64{"read:EOF": 2, "write:EPIPE": 1}},
	}
	for _, a := range agents {
		sum.Add(a)
	}
	want := SwarmCounters{Open: 35, Connecting: 1, Sustained: 29, Fresh: 1, RampPauses: 2, Unattempted: 3, Sent: 300, Echoed: 299, Unstamped: 1}
	if !equalLevels(sum, want) {
		t.Errorf("sum %+v, want %+v", sum, want)
	}
	if w := map[string]int64{"read:EOF": 3, "write:EPIPE": 1}; !maps.Equal(sum.Failures, w) {
		t.Errorf("failures %v, want %v", sum.Failures, w)
	}
	if w := map[string]int64{"connect:EMFILE": 2}; !maps.Equal(sum.ClientFailures, w) {
		t.Errorf("client failures %v, want %v", sum.ClientFailures, w)
	}
	// The agents' own maps are not the sum's.
	if agents[0].Failures["read:EOF"] != 1 {
		t.Errorf("Add changed an agent's failures: %v", agents[0].Failures)
	}
}

func equalLevels(a, b SwarmCounters) bool {
	a.Failures, a.ClientFailures, b.Failures, b.ClientFailures = nil, nil, nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestSwarmJSONFlat: the counters embedded in Swarm keep a sample's keys
// where they were, first and in order.
func TestSwarmJSONFlat(t *testing.T) {
	s := Swarm{SwarmCounters: SwarmCounters{Open: 3, Connecting: 1, Sustained: 2, Fresh: 1, RampPauses: 4, Unattempted: 5,
		Sent: 6, Echoed: 7, Unstamped: 8, Failures: map[string]int64{"read:EOF": 1}, ClientFailures: map[string]int64{"connect:EMFILE": 2}},
		LagMaxMs: 1.5, Latency: Percentiles{Count: 1, P50: 1, P90: 1, P99: 1, P999: 1, Max: 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"open":3,"connecting":1,"sustained":2,"fresh":1,"ramp_pauses":4,"unattempted":5,"sent":6,"echoed":7,"unstamped":8,` +
		`"failures":{"read:EOF":1},"client_failures":{"connect:EMFILE":2},"lag_max_ms":1.5,"latency":{"count":1,"p50":1,"p90":1,"p99":1,"p999":1,"max":1}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
