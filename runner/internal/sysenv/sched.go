package sysenv

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"c10klab/runner/internal/results"
)

// addScheduler records the kernel's timer tick and preemption model. They
// cap no connection count, but they bound how long a runnable task can wait
// for a CPU that another task holds inside the kernel, which is what tail
// latency is made of when several processes share a CPU. Kernels that do
// not publish their configuration are simply not described.
func (b *builder) addScheduler(kernel string) {
	cfg := kernelConfig(b.fsys, kernel)
	hz := cfg["CONFIG_HZ"]
	mode := preemptMode(b.fsys, cfg)
	if hz == "" && mode == "" {
		return
	}
	var parts []string
	if hz != "" {
		parts = append(parts, "tick "+hz+" Hz")
	}
	if mode != "" {
		parts = append(parts, "preemption "+mode)
	}
	l := results.Limit{Name: NameScheduler, Value: strings.Join(parts, ", "), Scope: ScopeSystem}
	if mode == "none" || mode == "voluntary" {
		l.Raise = "preempt=full on the kernel command line (PREEMPT_DYNAMIC kernels), or a kernel built with CONFIG_PREEMPT"
	}
	b.add(l)
}

// kernelConfig reads the running kernel's build configuration from
// /proc/config.gz or /boot/config-RELEASE: "CONFIG_X" → "y", "250"...
// (options that are not set are absent). nil when neither exists.
func kernelConfig(fsys fs.FS, kernel string) map[string]string {
	var r io.Reader
	if data, err := fs.ReadFile(fsys, "proc/config.gz"); err == nil {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil
		}
		r = zr
	} else if data, err := fs.ReadFile(fsys, "boot/config-"+kernel); err == nil {
		r = bytes.NewReader(data)
	} else {
		return nil
	}
	cfg := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = strings.Trim(v, `"`)
		}
	}
	return cfg
}

var (
	// /sys/kernel/debug/sched/preempt lists the modes with the active one
	// in parentheses: "none voluntary (full) lazy".
	activeMode = regexp.MustCompile(`\((\w+)\)`)
	bootMode   = regexp.MustCompile(`(?:^|\s)preempt=(\w+)`)
)

// preemptMode is the kernel's preemption model as it runs: the one chosen
// at boot or since on a PREEMPT_DYNAMIC kernel, else the one it was built
// with. "" when unknown.
func preemptMode(fsys fs.FS, cfg map[string]string) string {
	if data, err := fs.ReadFile(fsys, "sys/kernel/debug/sched/preempt"); err == nil {
		if m := activeMode.FindSubmatch(data); m != nil {
			return string(m[1])
		}
	}
	if cfg["CONFIG_PREEMPT_DYNAMIC"] == "y" {
		if data, err := fs.ReadFile(fsys, "proc/cmdline"); err == nil {
			if m := bootMode.FindSubmatch(data); m != nil {
				return string(m[1])
			}
		}
	}
	for _, c := range []struct{ option, mode string }{
		{"CONFIG_PREEMPT_RT", "rt"},
		{"CONFIG_PREEMPT_LAZY", "lazy"},
		{"CONFIG_PREEMPT", "full"},
		{"CONFIG_PREEMPT_VOLUNTARY", "voluntary"},
		{"CONFIG_PREEMPT_NONE", "none"},
	} {
		if cfg[c.option] == "y" {
			return c.mode
		}
	}
	return ""
}
