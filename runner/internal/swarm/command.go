package swarm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxTarget bounds the connections one command may ask an agent to hold:
// fs.nr_open's default, the most descriptors any process gets unless it is
// raised, so no real agent could hold more. The agent allocates a slot per
// connection asked for, so an unbounded target would be an allocation of
// any size a stray line names.
const MaxTarget = 1 << 20

// maxCommandLine bounds a command line; a real one is a few dozen bytes.
const maxCommandLine = 4 << 10

// ParseCommand decodes one command line from the runner: exactly one JSON
// object with the fields of Command and no others, a target present and
// within 0..MaxTarget. Garbage gives an error, never a panic, and never a
// command the agent would act on. The agent still bounds the target by
// its own open-files limit.
func ParseCommand(line []byte) (Command, error) {
	var c Command
	line = bytes.TrimSpace(line)
	if len(line) > maxCommandLine {
		return c, fmt.Errorf("command of %d bytes: at most %d", len(line), maxCommandLine)
	}
	if len(line) == 0 || line[0] != '{' {
		return c, fmt.Errorf("command %s: not a JSON object", quote(line))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("command %s: %w", quote(line), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Command{}, fmt.Errorf("command %s: text after the object", quote(line))
	}
	// "target" must be given, unless the line is about a window or asks for
	// a report: a missing one would read as 0, which closes every
	// connection. (The runner's encoder writes "target":0 on those too; the
	// agent does not act on it there.)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return Command{}, fmt.Errorf("command %s: %w", quote(line), err)
	}
	if _, ok := fields["target"]; !ok && c.Window == 0 && c.Evaluate == 0 && c.Report == 0 {
		return Command{}, fmt.Errorf("command %s: no target", quote(line))
	}
	if err := c.Check(); err != nil {
		return Command{}, fmt.Errorf("command %s: %w", quote(line), err)
	}
	return c, nil
}

// quote shows at most the start of a bad line in an error.
func quote(b []byte) string {
	const show = 80
	if len(b) > show {
		return fmt.Sprintf("%q...", b[:show])
	}
	return fmt.Sprintf("%q", b)
}
