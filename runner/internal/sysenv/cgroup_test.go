package sysenv

import (
	"testing"
	"testing/fstest"
)

// hybridMountinfo is this project's machine: cgroup v1 controllers plus an
// empty v2 hierarchy at /sys/fs/cgroup/unified.
const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridCgroup = "8:pids:/\n4:memory:/jobs/a\n0::/\n"

const v2Mountinfo = "30 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"

func TestReadCgroupLimit(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name        string
		fsys        fstest.MapFS
		procCgroup  string
		mountinfo   string
		controller  string
		wantFound   bool
		wantLimited bool
		wantLimit   int64
		wantFile    string
	}{
		{
			name: "v1, the parent's lower limit caps the child",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/memory/memory.usage_in_bytes":        file("1"),
				"sys/fs/cgroup/memory/jobs/memory.limit_in_bytes":   file("1073741824\n"),
				"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": file("9223372036854771712\n"),
				"sys/fs/cgroup/unified/cgroup.controllers":          file(""),
			},
			procCgroup: hybridCgroup, mountinfo: hybridMountinfo, controller: "memory",
			wantFound: true, wantLimited: true, wantLimit: 1 << 30,
			wantFile: "/sys/fs/cgroup/memory/jobs/memory.limit_in_bytes",
		},
		{
			name: "v1, the child's lower limit wins over its parent's",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/memory/jobs/memory.limit_in_bytes":   file("1073741824\n"),
				"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": file("536870912\n"),
			},
			procCgroup: hybridCgroup, mountinfo: hybridMountinfo, controller: "memory",
			wantFound: true, wantLimited: true, wantLimit: 512 << 20,
			wantFile: "/sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes",
		},
		{
			name: "v1, a grandparent's lower limit wins over the child's",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/memory/memory.limit_in_bytes":        file("9223372036854771712\n"),
				"sys/fs/cgroup/memory/jobs/memory.limit_in_bytes":   file("268435456\n"),
				"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": file("536870912\n"),
			},
			procCgroup: hybridCgroup, mountinfo: hybridMountinfo, controller: "memory",
			wantFound: true, wantLimited: true, wantLimit: 256 << 20,
			wantFile: "/sys/fs/cgroup/memory/jobs/memory.limit_in_bytes",
		},
		{
			name: "v1 unlimited everywhere",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/memory/memory.limit_in_bytes":        file("9223372036854771712\n"),
				"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": file("9223372036854771712\n"),
			},
			procCgroup: hybridCgroup, mountinfo: hybridMountinfo, controller: "memory",
			wantFound: true,
		},
		{
			name: "v1 pids at the root cgroup has no pids.max: found, unlimited",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/pids/tasks": file("1\n"),
			},
			procCgroup: hybridCgroup, mountinfo: hybridMountinfo, controller: "pids",
			wantFound: true,
		},
		{
			name: "v2 only",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/cgroup.controllers":            file("cpu memory pids\n"),
				"sys/fs/cgroup/user.slice/memory.max":         file("max\n"),
				"sys/fs/cgroup/user.slice/job/memory.max":     file("268435456\n"),
				"sys/fs/cgroup/user.slice/job/pids.max":       file("4096\n"),
				"sys/fs/cgroup/user.slice/job/cgroup.procs":   file("1\n"),
				"sys/fs/cgroup/user.slice/job/memory.current": file("1\n"),
			},
			procCgroup: "0::/user.slice/job\n", mountinfo: v2Mountinfo, controller: "memory",
			wantFound: true, wantLimited: true, wantLimit: 256 << 20,
			wantFile: "/sys/fs/cgroup/user.slice/job/memory.max",
		},
		{
			name: "v2 pids",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/user.slice/job/pids.max": file("4096\n"),
			},
			procCgroup: "0::/user.slice/job\n", mountinfo: v2Mountinfo, controller: "pids",
			wantFound: true, wantLimited: true, wantLimit: 4096,
			wantFile: "/sys/fs/cgroup/user.slice/job/pids.max",
		},
		{
			name: "v2 root without the controller: not found",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/cgroup.controllers": file("cpu io\n"),
			},
			procCgroup: "0::/\n", mountinfo: v2Mountinfo, controller: "memory",
			wantFound: false,
		},
		{
			name: "hybrid: the empty v2 hierarchy does not stand in for a missing v1 memory",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/unified/cgroup.controllers": file(""),
			},
			procCgroup: "0::/\n", mountinfo: hybridMountinfo, controller: "memory",
			wantFound: false,
		},
		{
			// mountinfo writes a space as \040; read as it stands, the limit
			// file was looked for under a directory that does not exist.
			name: "a mount point with a space",
			fsys: fstest.MapFS{
				"srv/cg mem/jobs/a/memory.limit_in_bytes": file("268435456\n"),
			},
			procCgroup: hybridCgroup,
			mountinfo:  "35 31 0:32 / /srv/cg\\040mem rw,relatime - cgroup none rw,memory\n",
			controller: "memory",
			wantFound:  true, wantLimited: true, wantLimit: 256 << 20,
			wantFile: "/srv/cg mem/jobs/a/memory.limit_in_bytes",
		},
		{
			name: "container: the mount's root is the process's cgroup",
			fsys: fstest.MapFS{
				"sys/fs/cgroup/memory/memory.limit_in_bytes": file("536870912\n"),
			},
			procCgroup: "4:memory:/docker/abc\n",
			mountinfo:  "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
			controller: "memory",
			wantFound:  true, wantLimited: true, wantLimit: 512 << 20,
			wantFile: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, found, err := readCgroupLimit(tt.fsys, tt.procCgroup, tt.mountinfo, tt.controller)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound || cl.limited != tt.wantLimited || cl.limit != tt.wantLimit || cl.file != tt.wantFile {
				t.Errorf("got found %v %+v; want found %v limited %v limit %d file %q",
					found, cl, tt.wantFound, tt.wantLimited, tt.wantLimit, tt.wantFile)
			}
		})
	}
}

func TestReadCgroupLimitBadValue(t *testing.T) {
	fsys := fstest.MapFS{"sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": {Data: []byte("lots\n")}}
	if _, _, err := readCgroupLimit(fsys, hybridCgroup, hybridMountinfo, "memory"); err == nil {
		t.Error("an unparsable limit file gave no error")
	}
}
