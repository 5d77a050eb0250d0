package sysenv

import (
	"reflect"
	"testing"
)

func TestParseInts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int64
		wantErr bool
	}{
		{"4096\t131072\t6291456\n", []int64{4096, 131072, 6291456}, false},
		{"32768 60999", []int64{32768, 60999}, false},
		{"575796 pages = 2.2 GiB", []int64{575796}, false},
		{"20000 (raised by the Go runtime)", []int64{20000}, false},
		{"unlimited", nil, true},
		{"max (none)", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseInts(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name               string
		in                 string
		wantTotal, wantAvl int64
		wantErr            bool
	}{
		{"kB means KiB", "MemTotal:       24683656 kB\nMemFree:        24538760 kB\nMemAvailable:   24449832 kB\n", 24683656 << 10, 24449832 << 10, false},
		{"order does not matter", "MemAvailable: 1 kB\nBuffers: 5 kB\nMemTotal: 2 kB\n", 2 << 10, 1 << 10, false},
		{"old kernel without MemAvailable", "MemTotal: 2 kB\nMemFree: 1 kB\n", 0, 0, true},
		{"garbage value", "MemTotal: x kB\nMemAvailable: 1 kB\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, avail, err := parseMeminfo(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if total != tt.wantTotal || avail != tt.wantAvl {
				t.Errorf("got total %d avail %d, want %d %d", total, avail, tt.wantTotal, tt.wantAvl)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0-1\n", 2, false},
		{"0", 1, false},
		{"0-3,8,10-11", 7, false},
		{"", 0, false},
		{"3-1", 0, true},
		{"a-b", 0, true},
	}
	for _, tt := range tests {
		got, err := parseCPUList(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCPUList(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCPURanges(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{[]int{5}, "5"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := cpuRanges(tt.in); got != tt.want {
			t.Errorf("cpuRanges(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if n, err := parseCPUList(cpuRanges(tt.in)); err != nil || n != len(tt.in) {
			t.Errorf("parseCPUList(cpuRanges(%v)) = %d, %v; want %d", tt.in, n, err, len(tt.in))
		}
	}
}

func TestParseLoadavgTasks(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0.00 0.04 0.02 1/88 8023\n", 88, false},
		{"12.5 3.1 0.9 7/31000 99", 31000, false},
		{"0.00 0.04 0.02", 0, true},
		{"0.00 0.04 0.02 88 8023", 0, true},
	}
	for _, tt := range tests {
		got, err := parseLoadavgTasks(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseLoadavgTasks(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	in := "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/x\n0::/user.slice/s.scope\n"
	got, err := parseProcCgroup(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroupLine{
		{controllers: []string{"name=systemd"}, path: "/"},
		{controllers: []string{"memory"}, path: "/process_api/abc"},
		{controllers: []string{"cpu", "cpuacct"}, path: "/x"},
		{controllers: nil, path: "/user.slice/s.scope"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseProcCgroup("memory:/x\n"); err == nil {
		t.Error("a line without three fields parsed")
	}
}

func TestParseMountinfoCgroups(t *testing.T) {
	in := `22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:36 /docker/abc /sys/fs/cgroup/pids rw,relatime shared:5 - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	want := []cgroupMount{
		{root: "/", mountPoint: "/sys/fs/cgroup/memory", options: []string{"rw", "memory"}},
		{root: "/docker/abc", mountPoint: "/sys/fs/cgroup/pids", options: []string{"rw", "pids"}},
		{root: "/", mountPoint: "/sys/fs/cgroup/unified", v2: true},
	}
	if got := parseMountinfoCgroups(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseCgroupLimit(t *testing.T) {
	tests := []struct {
		in          string
		want        int64
		wantLimited bool
		wantErr     bool
	}{
		{"max\n", 0, false, false},
		{"9223372036854771712\n", 0, false, false}, // v1 unlimited on 4 KiB pages
		{"8589934592\n", 8 << 30, true, false},
		{"512", 512, true, false},
		{"lots", 0, false, true},
	}
	for _, tt := range tests {
		got, limited, err := parseCgroupLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want || limited != tt.wantLimited {
			t.Errorf("parseCgroupLimit(%q) = %d, %v, %v; want %d, %v, err %v", tt.in, got, limited, err, tt.want, tt.wantLimited, tt.wantErr)
		}
	}
}
