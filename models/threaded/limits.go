package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvThreadLimit chooses Go's cap on OS threads (debug.SetMaxThreads):
// "system" (default), "go" (keep Go's 10000) or a number.
const EnvThreadLimit = "C10K_THREAD_LIMIT"

// goDefaultMaxThreads is the runtime's own cap (runtime/proc.go).
const goDefaultMaxThreads = 10000

// capMargin lifts Go's cap a little above the system's thread limit. With
// the two equal, a process alone in a pids cgroup would hit Go's check
// ("program exceeds N-thread limit") at the very thread the kernel would
// refuse; the margin lets the kernel refuse first, so stderr names the real
// limit and its errno instead of Go's bookkeeping.
const capMargin = 64

// threadCap is the decision taken from C10K_THREAD_LIMIT.
type threadCap struct {
	set bool   // call debug.SetMaxThreads(max)
	max int    // the cap in force
	why string // for the start-up line on stderr
}

func threadCapFromEnv() (threadCap, error) {
	v := strings.TrimSpace(os.Getenv(EnvThreadLimit))
	switch v {
	case "", "system":
		lim, why := systemThreadLimit(sysPaths{proc: "/proc", cgroup: "/sys/fs/cgroup"})
		return threadCap{set: true, max: lim + capMargin,
			why: fmt.Sprintf("system limit %d from %s, plus %d", lim, why, capMargin)}, nil
	case "go":
		return threadCap{max: goDefaultMaxThreads, why: "Go's default"}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return threadCap{}, fmt.Errorf("%s=%q: want system, go or a positive number", EnvThreadLimit, v)
	}
	return threadCap{set: true, max: n, why: EnvThreadLimit}, nil
}

// sysPaths roots the files read, so tests can point them at a fake tree.
type sysPaths struct{ proc, cgroup string }

// systemThreadLimit is the smallest of the limits the kernel applies to
// creating one more thread of this process, and the name of that limit.
// kernel.threads-max and kernel.pid_max count every task on the machine,
// RLIMIT_NPROC every task of the user, pids.max every task of the cgroup;
// so the real headroom is smaller, but each is the ceiling a lone server
// would meet.
func systemThreadLimit(p sysPaths) (int, string) {
	best, why := int(^uint(0)>>1), "no limit found"
	consider := func(n int, name string) {
		if n > 0 && n < best {
			best, why = n, name
		}
	}
	if n, err := readInt(path.Join(p.proc, "sys/kernel/threads-max")); err == nil {
		consider(n, "kernel.threads-max")
	}
	if n, err := readInt(path.Join(p.proc, "sys/kernel/pid_max")); err == nil {
		consider(n, "kernel.pid_max")
	}
	// The kernel does not apply RLIMIT_NPROC to root (copy_process exempts
	// the init user and CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so counting it
	// there would make Go abort below a limit that does not exist.
	var rl unix.Rlimit
	if unix.Geteuid() != 0 && unix.Getrlimit(unix.RLIMIT_NPROC, &rl) == nil &&
		rl.Cur != unix.RLIM_INFINITY && rl.Cur < uint64(best) {
		consider(int(rl.Cur), "RLIMIT_NPROC (ulimit -u)")
	}
	if n, file := cgroupPidsMax(p); n > 0 {
		consider(n, file)
	}
	return best, why
}

// cgroupPidsMax returns the smallest pids.max on the way from this
// process's pids cgroup (v1 or v2) up to the root, and the file it came
// from; 0 when none is set.
func cgroupPidsMax(p sysPaths) (int, string) {
	f, err := os.Open(path.Join(p.proc, "self/cgroup"))
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	var dir string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case hasController(parts[1], "pids"):
			dir = path.Join(p.cgroup, "pids", parts[2])
		case parts[0] == "0" && parts[1] == "" && dir == "":
			dir = path.Join(p.cgroup, parts[2]) // unified hierarchy
		}
	}
	best, file := 0, ""
	for d := dir; d != "" && strings.HasPrefix(d, p.cgroup); d = path.Dir(d) {
		if n, err := readInt(path.Join(d, "pids.max")); err == nil && (best == 0 || n < best) {
			best, file = n, path.Join(d, "pids.max")
		}
		if d == p.cgroup {
			break
		}
	}
	return best, file
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readInt reads a file holding one integer; "max" is an error (no limit).
func readInt(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
