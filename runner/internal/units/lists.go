package units

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Ints writes a list of numbers as "0,1,5", as the command-line flags
// take them.
func Ints(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// Tally writes counters as "connect:ETIMEDOUT ×120, read:EOF ×3", largest
// first, ties by name, so that the same counts always read the same.
func Tally(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
