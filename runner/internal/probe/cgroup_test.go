package probe

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The fixtures are real cgroup v1 files of this machine (kernel 6.18),
// copied from cgroups made for them:
//   - cgroup-anon: a Python process that filled an 8 MiB bytearray and a
//     `sleep` (whose pages stayed charged where it started: v1 does not
//     move charges), 2 processes, 2 tasks;
//   - cgroup-mapped: one Python process with 3 more threads, a 16 MiB
//     bytearray and a 4 MiB file it wrote and mapped (Pss_Anon 20,176 kB,
//     the cgroup's total_rss to the byte; Pss_File 7,946 kB, of which
//     total_mapped_file holds the 4 MiB file and not the shared libraries
//     other processes had already brought in).
func TestCgroupFixtures(t *testing.T) {
	tests := []struct {
		dir             string
		procs, threads  int
		mem             int64
		cpuUser, cpuSys float64 // seconds
	}{
		{"cgroup-anon", 2, 2, 11980800, 0.113255501 * 55962109 / (55962109 + 48000000), 0.113255501 * 48000000 / (55962109 + 48000000)},
		{"cgroup-mapped", 1, 4, 20660224 + 4194304, 0.056745171 * 20000000 / (20000000 + 35988699), 0.056745171 * 35988699 / (20000000 + 35988699)},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.dir)
			tr := NewTree(TreeConfig{CgroupProcs: filepath.Join(dir, "cgroup.procs"), CPUAcct: dir, Memory: dir, Pids: dir})
			p, err := tr.Sample()
			if err != nil {
				t.Fatal(err)
			}
			if p.Procs != tc.procs || p.Threads != tc.threads || p.Mem != tc.mem || !p.NoDetail {
				t.Errorf("got %d procs, %d threads, mem %d, no detail %v; want %d, %d, %d, true", p.Procs, p.Threads, p.Mem, p.NoDetail, tc.procs, tc.threads, tc.mem)
			}
			if math.Abs(p.CPUUser-tc.cpuUser) > 1e-9 || math.Abs(p.CPUSys-tc.cpuSys) > 1e-9 {
				t.Errorf("cpu user %.9f sys %.9f, want %.9f %.9f", p.CPUUser, p.CPUSys, tc.cpuUser, tc.cpuSys)
			}
			if p.FDs != 0 || p.RSS != 0 || p.PSS != 0 || tr.ProcReads() != 0 {
				t.Errorf("a cgroup sample read per-process figures: %+v, %d /proc reads", p, tr.ProcReads())
			}
		})
	}
}

func TestCgroupMemParse(t *testing.T) {
	real, err := os.ReadFile("testdata/cgroup-mapped/memory.stat")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"real file", string(real), 20660224 + 4194304, true},
		// The cgroup's own rss and mapped_file leave out its children's:
		// the total_ lines are read.
		{"own lines ignored", "rss 5\nmapped_file 7\ntotal_rss 100\ntotal_mapped_file 20\n", 120, true},
		{"no trailing newline", "total_mapped_file 1\ntotal_rss 2", 3, true},
		{"no total_rss", "rss 5\ntotal_mapped_file 20\n", 0, false},
		{"no total_mapped_file", "total_rss 5\n", 0, false},
		{"not a number", "total_rss 5x\ntotal_mapped_file 1\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tc := range tests {
		got, err := cgroupMem([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: cgroupMem = %d, %v; want %d, ok %v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestSplitCPU(t *testing.T) {
	tests := []struct {
		total, user, sys float64
		wantU, wantS     float64
	}{
		{1, 0, 0, 0, 1},       // no tick yet: system time
		{2, 1, 1, 1, 1},       // even split
		{1, 3, 1, 0.75, 0.25}, // the ticks' ratio, the exact total
	}
	for _, tc := range tests {
		if u, s := splitCPU(tc.total, tc.user, tc.sys); u != tc.wantU || s != tc.wantS {
			t.Errorf("splitCPU(%v, %v, %v) = %v, %v; want %v, %v", tc.total, tc.user, tc.sys, u, s, tc.wantU, tc.wantS)
		}
	}
}

// TestCgroupCountKept: a large model's processes are listed from
// cgroup.procs again only when its tasks changed (or listMaxAge passed),
// so a steady window costs no cgroup.procs read.
func TestCgroupCountKept(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"memory.stat", "cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys"} {
		b, err := os.ReadFile(filepath.Join("testdata", "cgroup-anon", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(procs, tasks int) {
		var list []byte
		for i := range procs {
			list = append(list, strconv.Itoa(1000+i)+"\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), list, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pids.current"), []byte(strconv.Itoa(tasks)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr := NewTree(TreeConfig{CgroupProcs: filepath.Join(dir, "cgroup.procs"), CPUAcct: dir, Memory: dir, Pids: dir})
	steps := []struct {
		procs, tasks int
		want         int
		why          string
	}{
		{1500, 1500, 1500, "first count"},
		{1400, 1500, 1500, "tasks unchanged: the count stands"},
		{1400, 1400, 1400, "tasks changed: counted again"},
		{900, 900, 900, "tasks changed: counted again"},
		{950, 900, 950, "fewer than listAlways: counted every time"},
	}
	for _, s := range steps {
		write(s.procs, s.tasks)
		p, err := tr.Sample()
		if err != nil {
			t.Fatal(err)
		}
		if p.Procs != s.want || p.Threads != s.tasks {
			t.Errorf("%s: %d procs, %d tasks; want %d, %d", s.why, p.Procs, p.Threads, s.want, s.tasks)
		}
	}
	// PIDs (for Detail, the run delay, the runner's others scan) keeps to
	// the same rule. (The PIDs here are made up: no per-process read.)
	write(1300, 1300)
	p, err := tr.Sample()
	if err != nil {
		t.Fatal(err)
	}
	write(1200, 1300)
	pids, err := tr.PIDs()
	if err != nil || p.Procs != 1300 || len(pids) != 1300 || pids[0] != 1000 {
		t.Errorf("sample %d procs, PIDs right after %d (%v); want 1300 for both, from 1000", p.Procs, len(pids), err)
	}
}
