package procfs

import (
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestListPIDs(t *testing.T) {
	pids, err := ListPIDs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) || !slices.Contains(pids, 1) {
		t.Fatalf("ListPIDs: %d pids, without this process (%d) or init", len(pids), os.Getpid())
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	numeric := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			numeric++
		}
	}
	// Processes come and go on a busy machine between the two listings.
	if d := len(pids) - numeric; d < -50 || d > 50 {
		t.Errorf("ListPIDs found %d processes, os.ReadDir %d", len(pids), numeric)
	}
}

func TestAtoiName(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{"1\x00", 1, true}, {"20345\x00\x00\x00", 20345, true}, {"self\x00", 0, false}, {"12a\x00", 0, false}, {"\x00", 0, false}, {"77", 77, true}}
	for _, tc := range tests {
		if got, ok := atoiName([]byte(tc.in)); got != tc.want || ok != tc.ok {
			t.Errorf("atoiName(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
