package sysenv

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"c10klab/runner/internal/procfs"
)

// cgroupLimit is the tightest limit on this process's cgroup for one
// controller, taking its ancestors into account (a parent's limit caps its
// children too).
type cgroupLimit struct {
	limit   int64
	limited bool
	file    string // absolute path of the file that holds the tightest limit
}

// limitFiles names a controller's limit file in cgroup v1 and v2.
func limitFiles(controller string) (v1, v2 string) {
	switch controller {
	case "memory":
		return "memory.limit_in_bytes", "memory.max"
	case "pids":
		return "pids.max", "pids.max"
	}
	return controller + ".max", controller + ".max"
}

// readCgroupLimit finds this process's cgroup for controller from the
// contents of /proc/self/cgroup and /proc/self/mountinfo, then reads the
// limit file there and in every ancestor up to the mount's root. A v1
// hierarchy naming the controller is preferred over v2: on a hybrid system
// the v2 hierarchy is mounted too, without the controller.
// found is false when the controller is not mounted.
func readCgroupLimit(fsys fs.FS, procCgroup, mountinfo, controller string) (cl cgroupLimit, found bool, err error) {
	lines, err := procfs.ParseCgroup([]byte(procCgroup))
	if err != nil {
		return cl, false, err
	}
	mounts := procfs.ParseMountinfo([]byte(mountinfo))
	v1file, v2file := limitFiles(controller)
	type candidate struct{ dir, top, file string }
	var v1, v2 []candidate
	for _, l := range lines {
		for _, m := range mounts {
			rel, ok := strings.CutPrefix(l.Path, m.Root)
			if !ok {
				continue // the process's cgroup is outside what is mounted here
			}
			c := candidate{dir: path.Join(m.MountPoint, rel), top: m.MountPoint}
			switch {
			case m.FSType == "cgroup" && slices.Contains(l.Controllers, controller) && slices.Contains(m.SuperOptions, controller):
				c.file = v1file
				v1 = append(v1, c)
			case m.FSType == "cgroup2" && len(l.Controllers) == 0:
				c.file = v2file
				v2 = append(v2, c)
			}
		}
	}
	// A v1 hierarchy naming the controller has it; the v2 hierarchy must
	// be checked, since on a hybrid system it is mounted without it.
	for _, c := range v2 {
		if controllerPresent(fsys, c.dir, c.top, controller, c.file) {
			v1 = append(v1, c)
		}
	}
	// The first hierarchy that has the controller is the one in force.
	if len(v1) > 0 {
		c := v1[0]
		cl = cgroupLimit{}
		for dir := c.dir; ; dir = path.Dir(dir) {
			file := path.Join(dir, c.file)
			b, rerr := fs.ReadFile(fsys, strings.TrimPrefix(file, "/"))
			if rerr == nil {
				n, limited, perr := parseCgroupLimit(string(b))
				if perr != nil {
					return cl, true, fmt.Errorf("%s: %w", file, perr)
				}
				if limited && (!cl.limited || n < cl.limit) {
					cl.limit, cl.limited, cl.file = n, true, file
				}
			}
			if dir == c.top || dir == "/" || dir == "." {
				break
			}
		}
		return cl, true, nil
	}
	return cl, false, nil
}

// controllerPresent reports whether a cgroup v2 directory has the
// controller: its limit file exists there or, in the root cgroup (which
// has no limit files), cgroup.controllers lists it.
func controllerPresent(fsys fs.FS, dir, top, controller, file string) bool {
	if _, err := fs.Stat(fsys, strings.TrimPrefix(path.Join(dir, file), "/")); err == nil {
		return true
	}
	if dir != top {
		return false
	}
	b, err := fs.ReadFile(fsys, strings.TrimPrefix(path.Join(dir, "cgroup.controllers"), "/"))
	return err == nil && slices.Contains(strings.Fields(string(b)), controller)
}
