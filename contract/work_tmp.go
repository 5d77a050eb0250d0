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

type WorkSpec struct{ s string }

func (w WorkSpec) Spec() string { return w.s }

func ParseWorkSpec(s string) (WorkSpec, error) {
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (k != "cpu" && k != "wait" && k != "block") {
			return WorkSpec{}, fmt.Errorf("%s=%q: bad part %q", EnvWork, s, kv)
		}
		if _, err := time.ParseDuration(v); err != nil {
			return WorkSpec{}, fmt.Errorf("%s=%q: %w", EnvWork, s, err)
		}
	}
	return WorkSpec{s}, nil
}
