package procfs

import (
	"slices"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		count int
		// want is a mount that must be among those parsed.
		want Mount
	}{
		{name: "this machine's cgroup v1 hierarchies", in: fixture(t, "mountinfo"), count: 21,
			want: Mount{Root: "/", MountPoint: "/sys/fs/cgroup/memory", FSType: "cgroup", Source: "cgroup", SuperOptions: []string{"rw", "memory"}}},
		{name: "a mount point with a space, escaped as \\040", in: fixture(t, "mountinfo-space"), count: 22,
			want: Mount{Root: "/", MountPoint: "/tmp/procfs cg", FSType: "cgroup", Source: "none", SuperOptions: []string{"rw", "pids"}}},
		{name: "optional fields, a tab and a backslash",
			in:    []byte("36 25 0:31 /a\\011b /m\\134n rw,relatime shared:1 master:2 - cgroup cgroup rw,cpu,cpuacct\n"),
			count: 1, want: Mount{Root: "/a\tb", MountPoint: `/m\n`, FSType: "cgroup", Source: "cgroup", SuperOptions: []string{"rw", "cpu", "cpuacct"}}},
		{name: "a line without its separator is left out",
			in:    []byte("1 2 0:1 / /x rw\n37 25 0:32 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
			count: 1, want: Mount{Root: "/", MountPoint: "/sys/fs/cgroup", FSType: "cgroup2", Source: "cgroup2", SuperOptions: []string{"rw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseMountinfo(tt.in)
			if len(got) != tt.count {
				t.Errorf("%d mounts, want %d", len(got), tt.count)
			}
			if !slices.ContainsFunc(got, func(m Mount) bool {
				return m.Root == tt.want.Root && m.MountPoint == tt.want.MountPoint && m.FSType == tt.want.FSType &&
					m.Source == tt.want.Source && slices.Equal(m.SuperOptions, tt.want.SuperOptions)
			}) {
				t.Errorf("no %+v among %+v", tt.want, got)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:           "/plain",
		`/a\040b`:          "/a b",
		`/a\040b\040`:      "/a b ",
		`/end\04`:          `/end\04`, // cut short: left as it is
		`/not\999octal`:    `/not\999octal`,
		`\134\040\011\012`: "\\ \t\n",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
