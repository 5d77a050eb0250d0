package model

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// A port this process listens on is not free, and the error names this
// process, found through /proc/net/tcp and the descriptor tables.
func TestCheckPortFreeNamesTheHolder(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	pids, err := ListeningPIDs(addr.Port())
	if err != nil {
		t.Fatal(err)
	}
	if !pids[os.Getpid()] {
		t.Errorf("ListeningPIDs(%d) = %v, want this process, %d", addr.Port(), pids, os.Getpid())
	}
	err = CheckPortFree(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port()))
	if err == nil || !strings.Contains(err.Error(), "held by pid ") {
		t.Errorf("CheckPortFree of a port held: %v, want an error naming the holder", err)
	}
	ln.Close()
	if err := CheckPortFree(addr); err != nil {
		t.Errorf("CheckPortFree after the listener closed: %v", err)
	}
}
