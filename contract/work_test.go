package contract_test

import (
	"strings"
	"testing"
	"time"

	"c10klab/contract"
)

func TestParseWork(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    contract.Work
		wantErr string
	}{
		{"unset", nil, contract.Work{}, ""},
		{"empty", []string{"C10K_WORK="}, contract.Work{}, ""},
		{"size without work is ignored", []string{"C10K_SIZE=oops"}, contract.Work{}, ""},
		{"cpu", []string{"C10K_WORK=cpu=200us"}, contract.Work{CPU: 200 * time.Microsecond, Size: 16}, ""},
		{"micro sign", []string{"C10K_WORK=cpu=200µs"}, contract.Work{CPU: 200 * time.Microsecond, Size: 16}, ""},
		{"wait and size", []string{"C10K_WORK=wait=50ms", "C10K_SIZE=12"}, contract.Work{Wait: 50 * time.Millisecond, Size: 12}, ""},
		{"all three, spaces, decimals", []string{"C10K_WORK= cpu=1.5ms, block=5ms ,wait=2s"},
			contract.Work{CPU: 1500 * time.Microsecond, Block: 5 * time.Millisecond, Wait: 2 * time.Second, Size: 16}, ""},
		{"nanoseconds", []string{"C10K_WORK=block=500ns"}, contract.Work{Block: 500, Size: 16}, ""},
		{"unknown kind", []string{"C10K_WORK=io=5ms"}, contract.Work{}, `C10K_WORK="io=5ms": "io": unknown kind`},
		{"repeated kind", []string{"C10K_WORK=cpu=1ms,cpu=2ms"}, contract.Work{}, `C10K_WORK="cpu=1ms,cpu=2ms": "cpu": kind given twice`},
		{"no equals", []string{"C10K_WORK=cpu"}, contract.Work{}, `C10K_WORK="cpu": "cpu": want kind=duration`},
		{"empty item", []string{"C10K_WORK=cpu=1ms,"}, contract.Work{}, `C10K_WORK="cpu=1ms,": "": want kind=duration`},
		{"zero", []string{"C10K_WORK=wait=0s"}, contract.Work{}, `C10K_WORK="wait=0s": "wait=0s": duration must be > 0`},
		{"bare zero", []string{"C10K_WORK=wait=0"}, contract.Work{}, `C10K_WORK="wait=0": "wait=0": duration must be > 0`},
		{"negative", []string{"C10K_WORK=cpu=-1ms"}, contract.Work{}, `C10K_WORK="cpu=-1ms": "cpu=-1ms": duration must be > 0`},
		{"minutes are not a unit here", []string{"C10K_WORK=wait=1m"}, contract.Work{}, `C10K_WORK="wait=1m": "wait=1m": unit "m"`},
		{"bad unit", []string{"C10K_WORK=wait=5sec"}, contract.Work{}, `C10K_WORK="wait=5sec": "wait=5sec": unit "sec"`},
		{"no unit", []string{"C10K_WORK=wait=5"}, contract.Work{}, `C10K_WORK="wait=5": "wait=5": not a duration`},
		{"two dots", []string{"C10K_WORK=wait=1.2.3ms"}, contract.Work{}, `C10K_WORK="wait=1.2.3ms": "wait=1.2.3ms": not a duration`},
		{"size not a number", []string{"C10K_WORK=cpu=1ms", "C10K_SIZE=big"}, contract.Work{}, `C10K_SIZE="big": not an integer`},
		{"size zero", []string{"C10K_WORK=cpu=1ms", "C10K_SIZE=0"}, contract.Work{}, `C10K_SIZE=0: want a positive number of bytes`},
		{"size negative", []string{"C10K_WORK=cpu=1ms", "C10K_SIZE=-4"}, contract.Work{}, `C10K_SIZE=-4: want a positive number of bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := contract.ParseWork(env(tt.env...))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want an error starting %q", got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %q is not one line", err)
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

// What a launcher writes, a model reads back.
func TestWorkEnvironRoundTrip(t *testing.T) {
	tests := []struct {
		give     contract.Work
		wantLine string // C10K_WORK's value
	}{
		{contract.Work{}, ""},
		{contract.Work{CPU: 200 * time.Microsecond, Size: 16}, "cpu=200µs"},
		{contract.Work{Wait: 50 * time.Millisecond, Size: 24}, "wait=50ms"},
		{contract.Work{CPU: 100 * time.Microsecond, Block: 1500 * time.Microsecond, Wait: 20 * time.Millisecond, Size: 1},
			"cpu=100µs,block=1.5ms,wait=20ms"},
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.wantLine {
			t.Errorf("%+v.String() = %q, want %q", tt.give, got, tt.wantLine)
		}
		lines := tt.give.Environ()
		if tt.give.None() != (lines == nil) {
			t.Errorf("%+v: Environ %q, want lines exactly when there is work", tt.give, lines)
		}
		got, err := contract.ParseWork(env(lines...))
		if err != nil {
			t.Fatalf("Environ %q: %v", lines, err)
		}
		if got != tt.give {
			t.Errorf("Environ %q read back as %+v, want %+v", lines, got, tt.give)
		}
	}
	// A work without a size gets the default, explicitly.
	lines := contract.Work{CPU: time.Millisecond}.Environ()
	if got, _ := contract.ParseWork(env(lines...)); got.Size != contract.DefaultSize {
		t.Errorf("Environ %q without a size read back with size %d, want %d", lines, got.Size, contract.DefaultSize)
	}
}
