package guard

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/procfs"
)

// Supported says why cgroups cannot be used here, or nil if they can.
func Supported() error {
	if euid := os.Geteuid(); euid != 0 {
		return fmt.Errorf("guard: cgroups need root (euid %d)", euid)
	}
	mounts, err := v1Mounts("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, c := range Controllers {
		m, ok := mounts[c]
		if !ok {
			return fmt.Errorf("guard: no cgroup v1 %s hierarchy mounted", c)
		}
		if err := unix.Access(m.dir, unix.W_OK); err != nil {
			return fmt.Errorf("guard: %s: %w", m.dir, err)
		}
	}
	return nil
}

// mount is where a cgroup v1 hierarchy is mounted and which of its
// cgroups the mount shows at its top.
type mount struct{ dir, root string }

// v1Mounts maps each cgroup v1 controller to its mount, from a
// mountinfo file. Controllers may share a hierarchy ("cpu,cpuacct"), so
// mount points are not guessed.
func v1Mounts(path string) (map[string]mount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	out := make(map[string]mount)
	for _, m := range procfs.ParseMountinfo(b) {
		if m.FSType != "cgroup" {
			continue
		}
		for _, opt := range m.SuperOptions {
			if slices.Contains(Controllers, opt) {
				if _, dup := out[opt]; !dup {
					out[opt] = mount{dir: m.MountPoint, root: m.Root}
				}
			}
		}
	}
	return out, nil
}

// ownCgroups maps each v1 controller to the cgroup path of a process, from
// its /proc/PID/cgroup file.
func ownCgroups(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("guard: read %s: %w", path, unwrap(err))
	}
	cgs, err := procfs.ParseCgroup(b)
	if err != nil {
		return nil, fmt.Errorf("guard: %s: %w", path, err)
	}
	return procfs.V1Paths(cgs), nil
}
