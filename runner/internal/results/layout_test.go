package results

import "testing"

func TestFileName(t *testing.T) {
	if got := FileName("forked:seed"); got != "forked_seed" {
		t.Errorf("FileName = %q", got)
	}
}
