package analysis

import "c10klab/runner/internal/results"

// Bracket is what a model's steps say of its capacity: the largest offered
// count it sustained and the smallest above it that failed it, or that the
// swarm could not be trusted at. The capacity search closes it, and the
// summary reports it, from the same steps, so `c10klab plot` recomputes
// the run's bracket exactly.
type Bracket struct {
	// Sustained is the largest offered count of a sustained step (0: none
	// was), and SustainedStep that step's index in the steps given (-1).
	Sustained     int
	SustainedStep int
	// Failed is the smallest offered count above Sustained of a trusted
	// step that failed the model (0: none did).
	Failed int
	// Untrusted is the smallest offered count above Sustained of a step
	// that measured the swarm rather than the model (0: none did).
	Untrusted int
}

// Upper is the bracket's upper side: the smallest count above Sustained
// that failed, the model's doing or the swarm's (0: open).
func (b Bracket) Upper() int {
	switch {
	case b.Failed == 0:
		return b.Untrusted
	case b.Untrusted == 0:
		return b.Failed
	}
	return min(b.Failed, b.Untrusted)
}

// BracketOf finds the bracket in steps judged by Judge; stop is why the
// model's run ended (a step cut short counts against the model only when
// the model ended it, see ModelFailed). Hostile steps are left out: their
// offer is not the well-behaved load alone.
func BracketOf(steps []results.Step, stop results.Stop) Bracket {
	b := Bracket{SustainedStep: -1}
	for i, st := range steps {
		if st.OK && st.Hostile == nil && st.Offered > b.Sustained {
			b.Sustained, b.SustainedStep = st.Offered, i
		}
	}
	for _, st := range steps {
		if st.Hostile != nil || st.OK || st.Offered <= b.Sustained {
			continue
		}
		switch {
		case !Trusted(st):
			if b.Untrusted == 0 || st.Offered < b.Untrusted {
				b.Untrusted = st.Offered
			}
		case ModelFailed(st, stop):
			if b.Failed == 0 || st.Offered < b.Failed {
				b.Failed = st.Offered
			}
		}
	}
	return b
}

// Closed reports whether the bracket's sides are within resolution of
// each other: the gap between the sustained and the failed count at most
// that share of the sustained count (the search's 10%).
func (b Bracket) Closed(resolution float64) bool {
	up := b.Upper()
	return up > 0 && float64(up-b.Sustained) <= resolution*float64(b.Sustained) || up == b.Sustained+1
}
