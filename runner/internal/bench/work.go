package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"c10klab/contract"
	"c10klab/runner/internal/model"
)

// NoWork names the plain echo in a list of work settings.
const NoWork = "none"

// ParseWorkList reads bench --work: work settings (contract C10K_WORK
// values) separated by ';', each measured in turn, "none" for the plain
// echo: "none;cpu=200us;wait=50ms;block=5ms". A setting may combine kinds
// with commas, which is why the list takes semicolons.
func ParseWorkList(s string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(s, ";") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if w == NoWork {
			w = ""
		} else if _, err := contract.ParseWorkValue(w); err != nil {
			// Kept as written, not re-spelled: it names the run's files
			// ("200us" stays ASCII where Duration.String writes "200µs").
			return nil, err
		}
		if slices.Contains(out, w) {
			return nil, fmt.Errorf("%q is given twice", cmpOrNone(w))
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no work setting (e.g. cpu=200us, or none)", s)
	}
	return out, nil
}

func cmpOrNone(w string) string {
	if w == "" {
		return NoWork
	}
	return w
}

// CrossWork measures every spec under every work setting, settings inside
// models (epoll, epoll@cpu=200us, gnet, gnet@cpu=200us...), so that a
// change in the machine over the run touches one model's settings alike.
// A spec that names its own work (--models epoll@wait=1ms) keeps it.
func CrossWork(specs []model.Spec, works []string) []model.Spec {
	var out []model.Spec
	for _, s := range specs {
		if s.Work != "" {
			out = append(out, s)
			continue
		}
		for _, w := range works {
			s.Work = w
			out = append(out, s)
		}
	}
	return out
}

// workEnv is what a model measured under spec's work is started with
// besides the contract's common variables: the work, and the request size,
// which is the swarm's message size so that every message is one request.
func workEnv(spec model.Spec, msgSize int) []string {
	if spec.Work == "" {
		return nil
	}
	return []string{contract.EnvWork + "=" + spec.Work, contract.EnvSize + "=" + strconv.Itoa(msgSize)}
}
