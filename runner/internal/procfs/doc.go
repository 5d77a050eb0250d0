// Package procfs parses the kernel's files under /proc and the cgroup
// filesystems: one file here per kernel file, each parser taking the
// file's bytes, so that it is tested on copies of real files and the
// callers choose how to read (a reused buffer in the measurement loop, an
// fs.FS in the environment record). The runner had parsed /proc/PID/stat
// three times and mountinfo, /proc/PID/cgroup, loadavg and meminfo twice
// each, and the two mountinfo readers disagreed on escaped mount points.
package procfs
