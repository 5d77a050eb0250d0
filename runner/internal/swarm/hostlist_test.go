package swarm

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseHostList(t *testing.T) {
	def := SSH{Exe: "/tmp/c10klab", Key: "/k"}
	in := `# agents for the 1M run
root@10.0.0.5:2222 src=10.0.0.5+16
load2 key=/other exe=/opt/c10klab known_hosts=/kh

bob@[fd00::7]:22   # v6 ssh, agents still dial the model by IPv4
`
	got, err := ParseHostList(strings.NewReader(in), def)
	if err != nil {
		t.Fatal(err)
	}
	want := []SSH{
		{Host: "10.0.0.5", User: "root", Port: 2222, Key: "/k", Exe: "/tmp/c10klab", Src: netip.MustParseAddr("10.0.0.5"), SrcCount: 16},
		{Host: "load2", Key: "/other", Exe: "/opt/c10klab", KnownHosts: "/kh"},
		{Host: "fd00::7", User: "bob", Port: 22, Key: "/k", Exe: "/tmp/c10klab"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d hosts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if g, w := got[i], want[i]; g.Host != w.Host || g.User != w.User || g.Port != w.Port || g.Key != w.Key ||
			g.Exe != w.Exe || g.KnownHosts != w.KnownHosts || g.Src != w.Src || g.SrcCount != w.SrcCount {
			t.Errorf("host %d: got %+v, want %+v", i, g, w)
		}
	}
	bad := []string{
		"", "# only a comment",
		"h:0", "h:x", "@", "h src=10.0.0.1+0", "h src=fd00::1", "h color=blue", "h key=",
	}
	for _, b := range bad {
		if _, err := ParseHostList(strings.NewReader(b), def); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
	if _, err := ParseHostList(strings.NewReader("h"), SSH{}); err == nil {
		t.Error("accepted a host with no path for c10klab")
	}
}
