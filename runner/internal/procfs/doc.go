// Package procfs parses the kernel's files under /proc and the cgroup
// filesystems: one file here per kernel file (stat.go for /proc/PID/stat,
// mountinfo.go, cgroup.go for /proc/PID/cgroup, nettcp.go for
// /proc/net/tcp{,6}, ...), plus the shapes cgroup files share (one
// integer, "key value" lines, a PID a line). Each parser takes the file's
// bytes or a reader, so that it is tested on copies of real files
// (testdata, made with cat on the test machine) and its callers choose how
// to read: a reused buffer in the measurement loop (ReadFile), an fs.FS
// for the environment record.
//
// Before it, /proc/PID/stat was parsed in two packages (three, earlier),
// /proc/net/tcp in three, and mountinfo, /proc/PID/cgroup, loadavg,
// meminfo, cgroup.procs and one-integer files in two each; the two
// mountinfo readers disagreed on escaped mount points ("\040").
package procfs
