package swarm

import (
	"encoding/json"
	"fmt"
)

// ParseCommand decodes one command line from the runner and refuses what
// no agent can carry out, so garbage on the control stream is an error,
// never a panic or an unbounded allocation.
func ParseCommand(line []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(line, &c); err != nil {
		return Command{}, fmt.Errorf("bad command %.80q: %w", line, err)
	}
	if err := c.Check(); err != nil {
		return Command{}, fmt.Errorf("bad command %.80q: %w", line, err)
	}
	return c, nil
}
