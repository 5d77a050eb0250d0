package procfs

import (
	"maps"
	"reflect"
	"testing"
)

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []Cgroup
		paths   map[string]string
		wantErr bool
	}{
		{name: "this machine: v1 hierarchies and the v2 line", in: fixture(t, "cgroup"),
			want: []Cgroup{
				{[]string{"name=systemd"}, "/"}, {[]string{"pids"}, "/"}, {[]string{"blkio"}, "/"},
				{[]string{"freezer"}, "/"}, {[]string{"devices"}, "/"},
				{[]string{"memory"}, "/process_api/3985d4dfa0510390ac68ae57271e0e05"},
				{[]string{"cpuset"}, "/"}, {[]string{"cpuacct"}, "/"}, {[]string{"cpu"}, "/"}, {nil, "/"},
			},
			paths: map[string]string{"name=systemd": "/", "pids": "/", "blkio": "/", "freezer": "/", "devices": "/",
				"memory": "/process_api/3985d4dfa0510390ac68ae57271e0e05", "cpuset": "/", "cpuacct": "/", "cpu": "/"}},
		{name: "a shared hierarchy, a path with colons", in: []byte("2:cpu,cpuacct:/a:b\n0::/c\n"),
			want:  []Cgroup{{[]string{"cpu", "cpuacct"}, "/a:b"}, {nil, "/c"}},
			paths: map[string]string{"cpu": "/a:b", "cpuacct": "/a:b"}},
		{name: "empty", in: nil, paths: map[string]string{}},
		{name: "not id:controllers:path", in: []byte("4:memory\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCgroup(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if p := V1Paths(got); !maps.Equal(p, tt.paths) {
				t.Errorf("V1Paths = %v, want %v", p, tt.paths)
			}
		})
	}
}
