package swarm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line   string
		target int
		err    string // substring; "" for valid
	}{
		{`{"target":500}`, 500, ""},
		{` {"target":0} ` + "\n", 0, ""},
		{`{"target":1048576}`, MaxTarget, ""},
		{`{"target":-5}`, 0, "outside 0..1048576"},
		{`{"target":1048577}`, 0, "outside"},
		{`{"target":99999999999999999999}`, 0, "cannot unmarshal"},
		{`{"target":1.5}`, 0, "cannot unmarshal"},
		{`{"target":"500"}`, 0, "cannot unmarshal"},
		{`{"target":null}`, 0, ""}, // explicit null: target 0, as the runner's encoder never writes
		{`{}`, 0, "no target"},
		{`{"targte":5}`, 0, "unknown field"},
		{`{"target":5}{"target":6}`, 0, "text after"},
		{`{"target":5} x`, 0, "text after"},
		{`[{"target":5}]`, 0, "not a JSON object"},
		{`null`, 0, "not a JSON object"},
		{``, 0, "not a JSON object"},
		{`{"target":5`, 0, "unexpected EOF"},
		{`{"target":` + strings.Repeat("9", 5000) + `}`, 0, "at most"},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.line))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%.40q: %v", tt.line, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%.40q: %v, want an error with %q", tt.line, err, tt.err)
		case err == nil && c.Target != tt.target:
			t.Errorf("%.40q: target %d, want %d", tt.line, c.Target, tt.target)
		}
	}
}

// FuzzParseCommand: any line gives a command within bounds or an error,
// never a panic; a command accepted survives a round trip through the
// runner's own encoding.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{`{"target":500}`, `{"target":-5}`, `{"target":1e9}`, `{}`, `{"target":5}{`, "\x00", `{"target":1048577}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			if !reflect.DeepEqual(c, Command{}) {
				t.Fatalf("error %v with a non-zero command %+v", err, c)
			}
			return
		}
		if c.Target < 0 || c.Target > MaxTarget {
			t.Fatalf("accepted target %d outside 0..%d", c.Target, MaxTarget)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCommand(b)
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip of %+v: %+v, %v", c, back, err)
		}
	})
}
