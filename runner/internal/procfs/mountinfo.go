package procfs

import (
	"bytes"
	"strconv"
	"strings"
)

// Mount is one line of /proc/PID/mountinfo (proc(5)):
// "36 25 0:31 /root /mount/point rw,relatime shared:1 - cgroup cgroup rw,memory".
type Mount struct {
	// Root is the path, within the mounted filesystem, shown at
	// MountPoint: for a cgroup hierarchy, the cgroup at the mount's top
	// ("/" unless a container shows only a subtree).
	Root, MountPoint string
	FSType, Source   string
	// SuperOptions are the filesystem's own options; for a cgroup v1
	// hierarchy they name its controllers ("rw", "memory").
	SuperOptions []string
}

// ParseMountinfo parses a mountinfo file, undoing the kernel's octal
// escapes in paths ("\040" for a space, "\011" a tab, "\012" a newline,
// "\134" a backslash). A line it cannot read is left out: every caller
// looks for a few mounts among many, and one odd line must not hide them.
func ParseMountinfo(b []byte) []Mount {
	var out []Mount
	for line := range bytes.Lines(b) {
		// The optional fields before " - " vary in number; the separator
		// cannot occur inside a field, where spaces are escaped.
		pre, post, ok := bytes.Cut(bytes.TrimRight(line, "\n"), []byte(" - "))
		if !ok {
			continue
		}
		pf, sf := bytes.Fields(pre), bytes.Fields(post)
		if len(pf) < 5 || len(sf) < 3 {
			continue
		}
		out = append(out, Mount{
			Root: unescape(string(pf[3])), MountPoint: unescape(string(pf[4])),
			FSType: string(sf[0]), Source: unescape(string(sf[1])),
			SuperOptions: strings.Split(string(sf[2]), ","),
		})
	}
	return out
}

// unescape undoes mountinfo's octal escapes (show_path in the kernel
// escapes space, tab, newline and backslash as \ooo).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
