package cli

import (
	"strings"

	"c10klab/runner/internal/bench"
)

// applyProfile applies the profile named by --profile in args to opt. It
// runs before the other flags are defined, so that their defaults (and the
// usage text) are the profile's and any flag given overrides the profile.
func applyProfile(opt *bench.Options, args []string) (bench.Profile, error) {
	name := profileArg(args)
	p, err := bench.FindProfile(name)
	if err != nil {
		return p, err
	}
	p.Apply(opt)
	return p, nil
}

// profileArg finds --profile NAME or --profile=NAME (one dash or two)
// anywhere before "--" (bench takes no other arguments); "default" when
// absent.
func profileArg(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue // a flag's value
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "profile" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return "default"
}
