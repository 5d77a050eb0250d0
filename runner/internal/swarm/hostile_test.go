package swarm

import (
	"testing"
	"time"
)

// Each kind misbehaves as it says against a plain echo server, and none of
// it is counted against the server or the well-behaved connections.
func TestHostileKindsAgainstAnEchoServer(t *testing.T) {
	addr := server(t, echo)
	const well, bad = 20, 10
	for _, kind := range HostileKinds {
		t.Run(kind, func(t *testing.T) {
			cfg := testConfig(addr)
			cfg.Interval, cfg.Deadline, cfg.StatusEvery = time.Second, time.Second, 250*time.Millisecond
			s := startSession(t, cfg)
			s.send(Command{Target: well, Hostile: bad, HostileKind: kind})
			st := s.await(15*time.Second, func(st Status) bool {
				if st.Sustained != well || st.Hostile == nil {
					return false
				}
				switch kind {
				case HostileReset, HostileChurn, HostileHalfClose:
					return st.Hostile.Cycles >= bad
				}
				return st.Hostile.Open == bad
			})
			if st.Open != well || len(st.Failures) != 0 {
				t.Fatalf("well-behaved: open %d, failures %v; want %d open and none", st.Open, st.Failures, well)
			}
			if st.Hostile.Kind != kind || st.Hostile.Offered != bad {
				t.Fatalf("hostile status %+v", st.Hostile)
			}
			t.Logf("%s: hostile open %d cycles %d failures %v", kind, st.Hostile.Open, st.Hostile.Cycles, st.Hostile.Failures)
		})
	}
}

func TestParseCommandHostile(t *testing.T) {
	if _, err := ParseCommand([]byte(`{"target":10,"hostile":5,"hostile_kind":"slow"}`)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"target":10,"hostile":5}`, `{"target":10,"hostile":5,"hostile_kind":"evil"}`, `{"target":10,"hostile":-1,"hostile_kind":"slow"}`} {
		if _, err := ParseCommand([]byte(bad)); err == nil {
			t.Errorf("ParseCommand(%s): no error", bad)
		}
	}
}
