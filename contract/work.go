package contract

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The work per request (models/README.md, "Work per request"): what a
// model does before echoing each request, and how many bytes a request is.
const (
	EnvWork = "C10K_WORK"
	EnvSize = "C10K_SIZE"
)

// DefaultSize is the bytes per request when C10K_SIZE is unset: the
// swarm's message size, so each message is one request.
const DefaultSize = 16

// Work kinds, in the order a model does them for each request.
const (
	WorkCPU   = "cpu"
	WorkBlock = "block"
	WorkWait  = "wait"
)

// Work is what C10K_WORK and C10K_SIZE say. The zero value is no work:
// a pure echo, as without the variables.
type Work struct {
	CPU   time.Duration // burn this much of the handling thread's CPU time
	Wait  time.Duration // wait this long in the model's non-blocking idiom
	Block time.Duration // sleep this long, blocking the handling thread
	Size  int           // bytes per request; 0 when there is no work
}

// None reports whether w asks for no work at all (pure echo).
func (w Work) None() bool { return w.CPU == 0 && w.Wait == 0 && w.Block == 0 }

// ParseWork reads C10K_WORK and C10K_SIZE through getenv. C10K_SIZE is
// read only when C10K_WORK asks for work. An error names the variable and
// the bad part, on one line, as a model prints it before exiting with 2.
func ParseWork(getenv func(string) string) (Work, error) {
	w, err := ParseWorkValue(getenv(EnvWork))
	if err != nil || w.None() {
		return w, err
	}
	size, err := Int(getenv, EnvSize, DefaultSize)
	if err != nil {
		return Work{}, err
	}
	if size < 1 {
		return Work{}, fmt.Errorf("%s=%d: want a positive number of bytes", EnvSize, size)
	}
	w.Size = size
	return w, nil
}

// ParseWorkValue reads a C10K_WORK value alone ("cpu=200us,wait=20ms"), as
// the runner's --work flag gives it; Size is left 0.
func ParseWorkValue(v string) (Work, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Work{}, nil
	}
	var w Work
	seen := map[string]bool{}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		kind, ds, ok := strings.Cut(item, "=")
		if !ok {
			return Work{}, fmt.Errorf("%s=%q: %q: want kind=duration", EnvWork, v, item)
		}
		var slot *time.Duration
		switch kind {
		case WorkCPU:
			slot = &w.CPU
		case WorkWait:
			slot = &w.Wait
		case WorkBlock:
			slot = &w.Block
		default:
			return Work{}, fmt.Errorf("%s=%q: %q: unknown kind (want %s, %s or %s)", EnvWork, v, kind, WorkCPU, WorkWait, WorkBlock)
		}
		if seen[kind] {
			return Work{}, fmt.Errorf("%s=%q: %q: kind given twice", EnvWork, v, kind)
		}
		seen[kind] = true
		d, err := parseWorkDuration(ds)
		if err != nil {
			return Work{}, fmt.Errorf("%s=%q: %q: %w", EnvWork, v, item, err)
		}
		*slot = d
	}
	return w, nil
}

// workUnits are the units C10K_WORK allows: time.ParseDuration's, less
// minutes and hours, which no request's work needs and which a model in
// another language would have to parse too.
var workUnits = map[string]bool{"ns": true, "us": true, "µs": true, "μs": true, "ms": true, "s": true}

func parseWorkDuration(s string) (time.Duration, error) {
	// A sign is left to ParseDuration and the check for > 0 below.
	for unit := range strings.FieldsFuncSeq(strings.TrimLeft(s, "+-"), func(r rune) bool { return unicode.IsDigit(r) || r == '.' }) {
		if !workUnits[unit] {
			return 0, fmt.Errorf("unit %q (want ns, us, ms or s)", unit)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration (e.g. 200us, 1.5ms, 50ms)")
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration must be > 0")
	}
	return d, nil
}

// String is w as C10K_WORK writes it, the kinds in the order a model does
// them (cpu, block, wait); "" for no work.
func (w Work) String() string {
	var parts []string
	for _, k := range []struct {
		kind string
		d    time.Duration
	}{{WorkCPU, w.CPU}, {WorkBlock, w.Block}, {WorkWait, w.Wait}} {
		if k.d > 0 {
			parts = append(parts, k.kind+"="+k.d.String())
		}
	}
	return strings.Join(parts, ",")
}

// Environ is w as the KEY=VALUE lines a launcher adds to a model's
// environment: none for no work, so the model is a pure echo.
func (w Work) Environ() []string {
	if w.None() {
		return nil
	}
	size := w.Size
	if size <= 0 {
		size = DefaultSize
	}
	return []string{EnvWork + "=" + w.String(), EnvSize + "=" + strconv.Itoa(size)}
}
