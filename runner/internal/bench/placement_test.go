package bench

import (
	"net/netip"
	"testing"

	"c10klab/runner/internal/netns"
	"c10klab/runner/internal/swarm"
)

func TestPlacement(t *testing.T) {
	hosts := &netns.Hosts{
		Server: netns.Host{Name: "c10k-1-srv", Addr: netip.MustParseAddr("10.213.0.1")},
		Clients: []netns.Host{
			{Name: "c10k-1-c0", Addr: netip.MustParseAddr("10.213.1.1"), Srcs: []netip.Addr{netip.MustParseAddr("10.213.1.1"), netip.MustParseAddr("10.213.1.2")}},
			{Name: "c10k-1-c1", Addr: netip.MustParseAddr("10.213.2.1"), Srcs: []netip.Addr{netip.MustParseAddr("10.213.2.1"), netip.MustParseAddr("10.213.2.2")}},
		},
	}
	var local Placement
	if !local.Local() || local.Launchers("x", nil) != nil || local.Agents(7) != 7 {
		t.Errorf("zero placement: local %v, launchers %v, agents %d", local.Local(), local.Launchers("x", nil), local.Agents(7))
	}
	p := Placement{Hosts: hosts}
	ls := p.Launchers("/bin/c10klab", []int{1})
	if len(ls) != 2 {
		t.Fatalf("launchers %v: want one per client host", ls)
	}
	pipe := ls[1].(swarm.Pipe)
	if pipe.Src != hosts.Clients[1].Addr || pipe.SrcCount != 2 || pipe.Wrap([]string{"a"})[1] != "--net=/run/netns/c10k-1-c1" {
		t.Errorf("client 1's launcher %+v: want its addresses and its namespace", pipe)
	}
	for need, want := range map[int]int{0: 2, 1: 2, 2: 2, 3: 4, 101: 102} {
		if got := p.Agents(need); got != want {
			t.Errorf("Agents(%d) = %d, want %d: whole rounds over 2 hosts", need, got, want)
		}
	}
	dial := Placement{Control: &swarm.Control{}, Dialers: 3}
	if got := dial.Agents(100); got != 3 {
		t.Errorf("dial-in Agents(100) = %d, want the 3 that were asked for", got)
	}
	for a, want := range map[string]bool{"127.0.0.1": true, "10.213.0.1": true, "10.213.1.1": false, "192.0.2.7": false} {
		if got := p.AllowsAddr(netip.MustParseAddr(a)); got != want {
			t.Errorf("AllowsAddr(%s) = %v, want %v", a, got, want)
		}
	}
	if local.AllowsAddr(netip.MustParseAddr("10.213.0.1")) {
		t.Error("a run without test hosts allowed a namespace address")
	}
}
