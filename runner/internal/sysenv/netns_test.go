package sysenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"c10klab/runner/internal/netns"
)

// TestMachineFSInsideNamespace: inside a test host, the machine-wide
// tcp_mem is hidden from /proc/sys and machineFS reads it from the
// machine's namespace, while a per-namespace setting (somaxconn) is still
// the host's own.
func TestMachineFSInsideNamespace(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	want, err := os.ReadFile("/proc/sys/net/ipv4/tcp_mem")
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := netns.Create(1, netns.Settings{Somaxconn: 4321})
	if err != nil {
		t.Fatal(err)
	}
	defer hosts.Close()
	// The machine's namespace, held open before any thread leaves it:
	// /proc/self/ns/net would follow the main thread, which Do may lock.
	machine, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer machine.Close()
	fsys := machineFS{os.DirFS("/"), fmt.Sprintf("/proc/self/fd/%d", machine.Fd())}
	err = hosts.Server.Do(func() error {
		if _, err := fs.ReadFile(os.DirFS("/"), "proc/sys/net/ipv4/tcp_mem"); !errors.Is(err, fs.ErrNotExist) {
			t.Skipf("this kernel shows tcp_mem in every namespace (%v): nothing to fall back from", err)
		}
		got, err := fs.ReadFile(fsys, "proc/sys/net/ipv4/tcp_mem")
		if err != nil || string(got) != string(want) {
			t.Errorf("tcp_mem inside = %q, %v; the machine's is %q", got, err, want)
		}
		own, err := fs.ReadFile(fsys, "proc/sys/net/core/somaxconn")
		if err != nil || string(own) != "4321\n" {
			t.Errorf("somaxconn inside = %q, %v; want the host's own 4321", own, err)
		}
		if _, err := fs.ReadFile(fsys, "proc/sys/net/ipv4/no_such_setting"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a setting missing everywhere: %v, want not-exist", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
