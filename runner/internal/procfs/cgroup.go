package procfs

import (
	"bytes"
	"fmt"
	"strings"
)

// Cgroup is one line of /proc/PID/cgroup: "4:memory:/a/b" for a cgroup
// v1 hierarchy, "0::/a" for the v2 one.
type Cgroup struct {
	// Controllers are the hierarchy's controllers ("cpu", "cpuacct",
	// "name=systemd"); none for the v2 line.
	Controllers []string
	// Path is the process's cgroup, from the hierarchy's root.
	Path string
}

// ParseCgroup parses /proc/PID/cgroup.
func ParseCgroup(b []byte) ([]Cgroup, error) {
	var out []Cgroup
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		f := strings.SplitN(string(line), ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("cgroup line %q: want id:controllers:path", line)
		}
		var ctl []string
		if f[1] != "" {
			ctl = strings.Split(f[1], ",")
		}
		out = append(out, Cgroup{Controllers: ctl, Path: f[2]})
	}
	return out, nil
}

// V1Paths maps each cgroup v1 controller to the process's cgroup in its
// hierarchy (controllers sharing a hierarchy, "cpu,cpuacct", share it).
func V1Paths(cgroups []Cgroup) map[string]string {
	out := make(map[string]string)
	for _, c := range cgroups {
		for _, ctl := range c.Controllers {
			out[ctl] = c.Path
		}
	}
	return out
}
