package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Stat
		wantErr bool
	}{
		{name: "a comm with spaces and parentheses", in: fixture(t, "stat-comm-parens"),
			want: Stat{PID: 6988, PPID: 6987, PGrp: 6981, Comm: "x (y) z", State: 'S', Threads: 1, StartTime: 1060206, RSSPages: 393}},
		{name: "a running process", in: fixture(t, "stat-cat"),
			want: Stat{PID: 6992, PPID: 6981, PGrp: 6981, Comm: "cat", State: 'R', Threads: 1, StartTime: 1060237, RSSPages: 380}},
		{name: "CPU times and threads", in: fixture(t, "stat-init"),
			want: Stat{PID: 1, Comm: "process_api", State: 'S', UTime: 1709, STime: 14886, CUTime: 389438, CSTime: 406825,
				Threads: 19, StartTime: 31, RSSPages: 3943}},
		{name: "a comm that is only a parenthesis", in: []byte("7 ()) Z 1 7 7 0 -1 0 0 0 0 0 3 4 5 6 20 0 1 0 99 0 0\n"),
			want: Stat{PID: 7, PPID: 1, PGrp: 7, Comm: ")", State: 'Z', UTime: 3, STime: 4, CUTime: 5, CSTime: 6, Threads: 1, StartTime: 99}},
		{name: "no parentheses", in: []byte("7 cat R 1 7"), wantErr: true},
		{name: "no pid", in: []byte("(cat) R 1 7"), wantErr: true},
		{name: "cut short", in: []byte("7 (cat) R 1 7 7 0 -1 0 0 0 0 0 3 4"), wantErr: true},
		{name: "a field that is not a number", in: []byte("7 (cat) R x 7 7 0 -1 0 0 0 0 0 3 4 5 6 20 0 1 0 99 0 0\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// The live file of this process: ReadFile into a buffer too small for it,
// then ParseStat, agree with what the process knows of itself.
func TestReadStatSelf(t *testing.T) {
	b, err := ReadFile(StatPath(os.Getpid()), make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	// The state is the main thread's, which may sleep while another runs
	// this test.
	if s.PID != os.Getpid() || s.PPID != os.Getppid() || !strings.ContainsRune("RS", rune(s.State)) || s.Threads < 1 || s.StartTime == 0 {
		t.Errorf("own stat %+v: want pid %d, ppid %d, running or sleeping, a thread or more, a start time", s, os.Getpid(), os.Getppid())
	}
	if _, err := ReadFile(StatPath(1<<30), nil); !Gone(err) {
		t.Errorf("a pid that cannot exist: err %v, want one Gone recognises", err)
	}
}

// ParseStat runs for every process of a model each second without the
// cgroups: the comm is its one allocation.
func TestParseStatAllocations(t *testing.T) {
	b := fixture(t, "stat-init")
	if n := testing.AllocsPerRun(100, func() { ParseStat(b) }); n > 1 {
		t.Errorf("ParseStat allocates %.0f times, want at most 1 (the comm)", n)
	}
}

// TestParseStatOddName runs, beside the copies in testdata, a process whose name holds spaces and
// parentheses, which a naive split of /proc/PID/stat gets wrong.
func TestParseStatOddName(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "a) b (c")
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, "30")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	// Right after fork the child may still be exec'ing, with no RSS yet.
	var b []byte
	var s Stat
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && s.RSSPages == 0; {
		time.Sleep(10 * time.Millisecond)
		if b, err = os.ReadFile(StatPath(c.Process.Pid)); err != nil {
			t.Fatal(err)
		}
		if s, err = ParseStat(b); err != nil {
			t.Fatal(err)
		}
	}
	want := Stat{PID: c.Process.Pid, PPID: os.Getpid(), PGrp: c.Process.Pid, Comm: "a) b (c", State: 'S', Threads: 1}
	got := s
	got.UTime, got.STime, got.CUTime, got.CSTime, got.StartTime, got.RSSPages = 0, 0, 0, 0, 0, 0
	if got != want || s.RSSPages <= 0 {
		t.Errorf("ParseStat(%q) = %+v, want %+v with rss > 0", b, s, want)
	}
}
