package contract

// Placeholder until the work contract lands (issue 19): replaced at merge
// by the contract's own definition.

import (
	"fmt"
	"strings"
	"time"
)

const (
	EnvWork = "C10K_WORK"
	EnvSize = "C10K_SIZE"
)

type WorkSpec struct {
	s                string
	CPU, Wait, Block time.Duration
}

func (w WorkSpec) Spec() string { return w.s }

func ParseWorkSpec(s string) (WorkSpec, error) {
	w := WorkSpec{s: s}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (k != "cpu" && k != "wait" && k != "block") {
			return WorkSpec{}, fmt.Errorf("%s=%q: bad part %q", EnvWork, s, kv)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return WorkSpec{}, fmt.Errorf("%s=%q: %w", EnvWork, s, err)
		}
		switch k {
		case "cpu":
			w.CPU = d
		case "wait":
			w.Wait = d
		case "block":
			w.Block = d
		}
	}
	return w, nil
}
