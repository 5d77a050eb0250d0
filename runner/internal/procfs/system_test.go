package procfs

import (
	"bytes"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestParseNetstat(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want map[string]int64 // entries that must be there
		err  string
	}{
		{name: "this machine's snmp", in: fixture(t, "snmp"),
			want: map[string]int64{"Tcp.MaxConn": -1, "Tcp.CurrEstab": 96000, "Tcp.OutRsts": 3495892}},
		{name: "this machine's netstat", in: fixture(t, "netstat"),
			want: map[string]int64{"TcpExt.ListenOverflows": 511116}},
		{name: "two sections", in: []byte("Tcp: RtoMin MaxConn CurrEstab\nTcp: 200 -1 7\nUdp: InDatagrams\nUdp: 5\n"),
			want: map[string]int64{"Tcp.RtoMin": 200, "Tcp.MaxConn": -1, "Tcp.CurrEstab": 7, "Udp.InDatagrams": 5}},
		{name: "short value line", in: []byte("TcpExt: A B\nTcpExt: 1\n"), err: "2 names but 1 values"},
		{name: "not a number", in: []byte("TcpExt: A\nTcpExt: x\n"), err: "TcpExt.A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNetstat(bytes.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %d (present %v), want %d", k, g, ok, v)
				}
			}
		})
	}
}

func TestParseSockstatTCP(t *testing.T) {
	got, err := ParseSockstatTCP(fixture(t, "sockstat"))
	want := map[string]int64{"inuse": 96006, "orphan": 0, "tw": 32, "alloc": 96148, "mem": 42890}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for name, in := range map[string]string{"no TCP line": "UDP: inuse 0 mem 0\n", "not a number": "TCP: inuse x\n"} {
		if _, err := ParseSockstatTCP([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseCPUStat(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []CPUStat
		wantErr bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// busy is all but idle and iowait, guest already inside user.
		{name: "this machine", in: fixture(t, "stat"), want: []CPUStat{
			{CPU: -1, Busy: 442327 + 3373 + 408121 + 71129 + 14629, Softirq: 71129},
			{CPU: 0, Busy: 221113 + 1846 + 211267 + 37487 + 6874, Softirq: 37487},
			{CPU: 1, Busy: 221213 + 1527 + 196853 + 33642 + 7754, Softirq: 33642},
		}},
		{name: "eight fields", in: []byte("cpu 100 0 100 500 500 0 0 0\n"), want: []CPUStat{{CPU: -1, Busy: 200}}},
		{name: "no cpu line", in: []byte("intr 1 2 3\n"), wantErr: true},
		{name: "short line", in: []byte("cpu 1 2 3 4 5 6\n"), wantErr: true},
		{name: "not a number", in: []byte("cpu 1 x 3 4 5 6 7 8\n"), wantErr: true},
		{name: "bad cpu number", in: []byte("cpu 1 2 3 4 5 6 7 8\ncpux 1 2 3 4 5 6 7 8\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCPUStat(tt.in)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParsePressureSome(t *testing.T) {
	if us, err := ParsePressureSome(fixture(t, "pressure-memory")); err != nil || us != 788361 {
		t.Errorf("this machine: %d, %v; want 788361 µs", us, err)
	}
	for name, in := range map[string]string{"no some line": "full total=1\n", "not a number": "some total=x\n"} {
		if _, err := ParsePressureSome([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseSmapsRollup(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		rss, pss int64
		wantErr  bool
	}{
		{name: "this machine (cat)", in: fixture(t, "smaps_rollup"), rss: 1696 << 10, pss: 196 << 10},
		{name: "a zombie's, empty", in: nil},
		{name: "not a number", in: []byte("Rss: x kB\nPss: 1 kB\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, pss, err := ParseSmapsRollup(tt.in)
			if (err != nil) != tt.wantErr || rss != tt.rss || pss != tt.pss {
				t.Errorf("got %d, %d, %v; want %d, %d, error %v", rss, pss, err, tt.rss, tt.pss, tt.wantErr)
			}
		})
	}
}

func TestParseSoftnetDrops(t *testing.T) {
	if n, err := ParseSoftnetDrops(fixture(t, "softnet_stat")); err != nil || n != 0x12a {
		t.Errorf("this machine: %d, %v; want 298 (cpu1's 0x12a)", n, err)
	}
	if _, err := ParseSoftnetDrops([]byte("0 zz 0\n")); err == nil {
		t.Error("a column that is not hex: no error")
	}
}

func TestParseSyscall(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"blocked in clock_nanosleep (sleep)", fixture(t, "syscall-blocked"), 230},
		{"in read (cat reading the file)", fixture(t, "syscall-read"), 0},
		{"running", []byte("running\n"), -1},
	}
	for _, tt := range tests {
		if got, err := ParseSyscall(tt.in); err != nil || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if _, err := ParseSyscall([]byte("x 0x0\n")); err == nil {
		t.Error("not a number: no error")
	}
}
