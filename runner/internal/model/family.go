package model

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// FamilyFile is the file in a model's folder that names its family, the
// kind of concurrency model it is ("Go reactor", "Python event loop"...),
// so reports can group sixteen models into a few kinds. One line.
const FamilyFile = "family"

// The names the shipped models use, in the order reports list them, are
// results.FamilyOrder; a model may name any other.

// OtherFamily is the family of a model that names none.
const OtherFamily = "other"

// Family reads the model's family file; OtherFamily when there is none.
func Family(m Model) string {
	f, err := os.Open(filepath.Join(m.Dir, FamilyFile))
	if err != nil {
		return OtherFamily
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return OtherFamily
}
