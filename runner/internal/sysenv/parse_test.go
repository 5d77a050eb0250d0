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
