package results

import (
	"encoding/json"
	"testing"
)

func TestFailKeyString(t *testing.T) {
	tests := []struct {
		key  FailKey
		want string
	}{
		{FailReadEOF, "read:EOF"},
		{FailConnectTimeout, "connect:ETIMEDOUT"},
		{FailWritePipe, "write:EPIPE"},
		{FailDeadline, "deadline"},
		{FailMismatch, "mismatch"},
		{FailKey{Phase: PhaseConnect, Errno: "EMFILE"}, "connect:EMFILE"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.key, got, tt.want)
		}
		back, err := ParseFailKey(tt.want)
		if err != nil || back != tt.key {
			t.Errorf("ParseFailKey(%q) = %#v, %v; want %#v", tt.want, back, err, tt.key)
		}
	}
	if got := (FailKey{PhaseConnect, "EADDRNOTAVAIL"}).Client(); got != "client:connect:EADDRNOTAVAIL" {
		t.Errorf("Client() = %q", got)
	}
}

func TestParseFailKeyRejects(t *testing.T) {
	for _, s := range []string{"", ":EOF"} {
		if k, err := ParseFailKey(s); err == nil {
			t.Errorf("ParseFailKey(%q) = %#v, want an error", s, k)
		}
	}
}

// A map keyed by FailKey is written exactly as the string-keyed counters
// on disk are, and reads back to the same keys.
func TestFailCountsJSONMatchesStringKeys(t *testing.T) {
	onDisk := map[string]int64{"read:EOF": 3, "deadline": 900, "connect:ETIMEDOUT": 12, "client:connect:EADDRNOTAVAIL": 1}
	want, err := json.Marshal(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	typed := ParseFailCounts(onDisk)
	got, err := json.Marshal(typed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("typed counters marshal to %s, want %s", got, want)
	}
	var back FailCounts
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(typed) || back[FailReadEOF] != 3 || back[FailDeadline] != 900 {
		t.Errorf("read back %v, want %v", back, typed)
	}
	if typed.Total() != 916 {
		t.Errorf("Total() = %d, want 916", typed.Total())
	}
}

func TestSideReadsReplaysOlderSpelling(t *testing.T) {
	tests := []struct {
		in   string
		want Side
	}{
		{`"client"`, SideClients},
		{`"clients"`, SideClients},
		{`"server"`, SideServer},
		{`"machine limit"`, SideMachine},
	}
	for _, tt := range tests {
		var s Side
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil || s != tt.want {
			t.Errorf("unmarshal %s = %q, %v; want %q", tt.in, s, err, tt.want)
		}
	}
	// Written, a side is its constant's string, as before the type.
	b, err := json.Marshal(Cause{Side: SideClients, Mechanism: MechSwarm})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"side":"clients","mechanism":"swarm resources","at":0}`; string(b) != want {
		t.Errorf("Cause marshals to %s, want %s", b, want)
	}
}
