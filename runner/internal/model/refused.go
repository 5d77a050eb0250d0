package model

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RefusedFile is the file in a model's folder that names the conformance
// checks the model is known to fail, and why: "half_close: the library
// drops its write buffer when FIN arrives with data". The suite then
// requires those checks to fail (so the line goes when the model is
// fixed), and a run says which check refused the model.
const RefusedFile = "refused"

// Refused returns the model's known refusals, check name to reason.
func Refused(m Model) (map[string]string, error) {
	f, err := os.Open(filepath.Join(m.Dir, RefusedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		check, why, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(check) == "" || strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s line %d: want \"check: why\", got %q", f.Name(), n, line)
		}
		out[strings.TrimSpace(check)] = strings.TrimSpace(why)
	}
	return out, sc.Err()
}
