package procfs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseLoadavg(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Loadavg
		wantErr bool
	}{
		{name: "this machine", in: fixture(t, "loadavg"), want: Loadavg{0.90, 0.71, 2.68, 7, 128, 7001}},
		{name: "no total", in: []byte("0.00 0.04 0.02 1 8023\n"), wantErr: true},
		{name: "too few fields", in: []byte("0.00 0.04 0.02 1/88\n"), wantErr: true},
		{name: "a count that is not a number", in: []byte("0.00 0.04 0.02 1/x 8023\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLoadavg(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := ParseMeminfo(fixture(t, "meminfo"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]int64{
		"MemTotal": 24683792 << 10, "MemAvailable": 24117024 << 10, "HugePages_Total": 0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, want)
		}
	}
	for name, in := range map[string]string{
		"no MemAvailable":     "MemTotal:       1024 kB\n",
		"a value not integer": "MemTotal: x kB\nMemAvailable: 1 kB\n",
	} {
		if _, err := ParseMeminfo([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestKeyed(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int64
	}{
		{"memory.oom_control", map[string]int64{"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 0}},
		{"pids.events", map[string]int64{"max": 0}},
		{"memory.stat", map[string]int64{"total_rss": 122015744, "total_mapped_file": 59887616}},
		{"vmstat", map[string]int64{"oom_kill": 20}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := fixture(t, tt.file)
			m, err := ParseKeyed(b)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got, ok := m[k]; !ok || got != want {
					t.Errorf("ParseKeyed: %s = %d (present %v), want %d", k, got, ok, want)
				}
				if got, ok, err := KeyedValue(b, k); err != nil || !ok || got != want {
					t.Errorf("KeyedValue(%s) = %d, %v, %v; want %d", k, got, ok, err, want)
				}
			}
			if _, ok, err := KeyedValue(b, "no_such_key"); ok || err != nil {
				t.Errorf("KeyedValue of a missing key: ok %v, err %v", ok, err)
			}
		})
	}
	if _, err := ParseKeyed([]byte("oom_kill x\n")); err == nil {
		t.Error("ParseKeyed of a value that is not a number: no error")
	}
	if _, _, err := KeyedValue([]byte("total_rss x\n"), "total_rss"); err == nil {
		t.Error("KeyedValue of a value that is not a number: no error")
	}
}

func TestIntFiles(t *testing.T) {
	tests := []struct {
		file    string
		want    int64
		isMax   bool
		wantErr bool // from ParseInt
	}{
		{file: "pids.current", want: 0},
		{file: "memory.limit_in_bytes", want: 9223372036854771712},
		{file: "pids.max", isMax: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := fixture(t, tt.file)
			v, err := ParseInt(b)
			if (err != nil) != tt.wantErr || !tt.wantErr && v != tt.want {
				t.Errorf("ParseInt = %d, %v; want %d, error %v", v, err, tt.want, tt.wantErr)
			}
			v, isMax, err := ParseMax(b)
			if err != nil || isMax != tt.isMax || v != tt.want {
				t.Errorf("ParseMax = %d, %v, %v; want %d, %v", v, isMax, err, tt.want, tt.isMax)
			}
			v, err = ReadInt(filepath.Join("testdata", tt.file))
			if (err != nil) != tt.wantErr || !tt.wantErr && v != tt.want {
				t.Errorf("ReadInt = %d, %v; want %d, error %v", v, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := ReadInt(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadInt of a missing file: %v, want not-exist", err)
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Schedstat
		wantErr bool
	}{
		{name: "this machine (init's thread)", in: fixture(t, "schedstat"), want: Schedstat{241936763, 34912709, 630}},
		{name: "a busy thread", in: []byte("88666 67826 2\n"), want: Schedstat{88666, 67826, 2}},
		{name: "short", in: []byte("88666 67826\n"), wantErr: true},
		{name: "not numbers", in: []byte("a b c\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSchedstat(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParsePIDList(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []int
		wantErr bool
	}{
		{name: "a cgroup of this machine", in: fixture(t, "cgroup.procs"), want: []int{13678, 13680, 13681, 13682}},
		{name: "empty", in: nil},
		{name: "blank lines", in: []byte("\n12\n\n3\n"), want: []int{12, 3}},
		{name: "not a pid", in: []byte("12\nx\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePIDList(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
