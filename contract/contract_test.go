package contract_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"c10klab/contract"
)

// env makes a getenv from KEY=VALUE lines, as a model's environment.
func env(kvs ...string) func(string) string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v // later wins, as in exec
	}
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    contract.Config
		wantErr string
	}{
		{"defaults", nil, contract.Config{Addr: "127.0.0.1:9999", Backlog: 4096, Loops: 1}, ""},
		{"every variable", []string{"C10K_ADDR=[::1]:7", "C10K_BACKLOG=5", "C10K_REUSEPORT=1",
			"C10K_INSTANCE=3", "C10K_LOOPS=2", "C10K_PRESET=seed"},
			contract.Config{Addr: "[::1]:7", Backlog: 5, ReusePort: true, Instance: 3, Loops: 2, Preset: "seed"}, ""},
		{"spaces and true", []string{"C10K_BACKLOG= 64 ", "C10K_REUSEPORT=true"},
			contract.Config{Addr: "127.0.0.1:9999", Backlog: 64, ReusePort: true, Loops: 1}, ""},
		{"host name", []string{"C10K_ADDR=localhost:9999"}, contract.Config{}, `C10K_ADDR="localhost:9999": want ip:port`},
		{"bad backlog", []string{"C10K_BACKLOG=many"}, contract.Config{}, `C10K_BACKLOG="many": not an integer`},
		{"bad bool", []string{"C10K_REUSEPORT=yes"}, contract.Config{}, `C10K_REUSEPORT="yes": not a boolean`},
		{"no loops", []string{"C10K_LOOPS=0"}, contract.Config{}, "C10K_LOOPS=0: need at least one event loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := contract.Load(env(tt.env...))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// What a launcher writes, a model reads back; what it leaves out is the
// model's default.
func TestEnvironRoundTrip(t *testing.T) {
	tests := []struct {
		give, want contract.Config
		omits      []string
	}{
		{contract.Config{Addr: "127.0.0.1:4000", Backlog: 5, ReusePort: true, Instance: 1, Loops: 2, Preset: "seed"},
			contract.Config{Addr: "127.0.0.1:4000", Backlog: 5, ReusePort: true, Instance: 1, Loops: 2, Preset: "seed"}, nil},
		{contract.Config{Addr: "127.0.0.1:4000"},
			contract.Config{Addr: "127.0.0.1:4000", Backlog: contract.DefaultBacklog, Loops: contract.DefaultLoops},
			[]string{contract.EnvBacklog, contract.EnvLoops, contract.EnvPreset}},
	}
	for _, tt := range tests {
		lines := tt.give.Environ()
		got, err := contract.Load(env(lines...))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Environ %q read back as %+v, want %+v", lines, got, tt.want)
		}
		for _, k := range tt.omits {
			for _, kv := range lines {
				if strings.HasPrefix(kv, k+"=") {
					t.Errorf("Environ wrote %q for an unset value", kv)
				}
			}
		}
	}
}

func TestWithout(t *testing.T) {
	got := contract.Without([]string{"PATH=/bin", "C10K_ADDR=1.2.3.4:5", "C10K_FORK_CAP=3", "HOME=/root", "XC10K_=1"})
	want := []string{"PATH=/bin", "HOME=/root", "XC10K_=1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestVarsAreTheConstants(t *testing.T) {
	var names []string
	for _, v := range contract.Vars() {
		if !strings.HasPrefix(v.Name, contract.Prefix) || v.Meaning == "" || v.Default == "" {
			t.Errorf("incomplete %+v", v)
		}
		names = append(names, v.Name)
	}
	want := []string{contract.EnvAddr, contract.EnvBacklog, contract.EnvReusePort, contract.EnvInstance, contract.EnvLoops, contract.EnvPreset,
		contract.EnvWork, contract.EnvSize}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("Vars names %q, want the constants %q", names, want)
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want contract.Report
	}{
		{`{"time":"2026-11-25T10:00:00.123Z","model":"epoll","instance":1,"kind":"accept","errno":"EMFILE","count":12,"conns":19990,"msg":"accept4: too many open files"}`,
			true, contract.Report{Time: time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC), Model: "epoll", Instance: 1,
				Kind: contract.KindAccept, Errno: "EMFILE", Count: 12, Conns: 19990, Msg: "accept4: too many open files"}},
		{`{"kind":"fork_cap","count":1,"conns":40}`, true, contract.Report{Kind: contract.KindForkCap, Count: 1, Conns: 40}},
		{`{"kind":"gc_pause","count":1}`, true, contract.Report{Kind: "gc_pause", Count: 1}}, // unknown kinds are kept
		{`listening on 127.0.0.1:9999`, false, contract.Report{}},
		{`{"msg":"no kind"}`, false, contract.Report{}},
		{`{"kind":"accept","count":"many"}`, false, contract.Report{}},
		{``, false, contract.Report{}},
	}
	for _, tt := range tests {
		got, ok := contract.ParseReport([]byte(tt.line))
		if ok != tt.ok || !got.Time.Equal(tt.want.Time) {
			t.Errorf("%s: ok %v time %v, want %v %v", tt.line, ok, got.Time, tt.ok, tt.want.Time)
			continue
		}
		got.Time, tt.want.Time = time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.line, got, tt.want)
		}
	}
}
