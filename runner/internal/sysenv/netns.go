package sysenv

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"c10klab/runner/internal/netns"
)

// machineFS reads the files under /proc/sys/net that a network namespace
// other than the machine's does not show (net.ipv4.tcp_mem and
// tcp_max_orphans are machine-wide and appear only in the first namespace)
// from the machine's namespace (netns.MachinePath), so a run inside test
// hosts (bench --hosts) records the same machine limits as one outside.
type machineFS struct {
	fs.FS
	nsPath string
}

func (m machineFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(m.FS, name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(name, "proc/sys/net/") {
		return b, err
	}
	var machine []byte
	if netns.Enter(m.nsPath, func() (rerr error) { machine, rerr = os.ReadFile("/" + name); return rerr }) != nil {
		return nil, err // not there either: the original error says what is missing
	}
	return machine, nil
}
