// Command forked-reexec is process-per-connection the way Go can do it
// without a raw fork(2): the parent accepts and hands each connection to a
// child process of its own, which echoes it with blocking read(2)/write(2)
// and exits at EOF. models/forked is the same model with a real fork.
//
// Go cannot fork and carry on in the child (the runtime's other threads do
// not survive fork), so a child is this same binary re-executed with
// C10K_FORKED_CHILD=1 and the connection as descriptor 3: fork+exec, the
// way a C server that execs a handler, or inetd, works. It costs an exec
// and a Go runtime start per connection, where fork(2) alone would share
// the parent's pages; the README has the measured cost.
package main

import (
	"fmt"
	"os"

	"c10klab/models/internal/modelkit"
)

const model = "forked-reexec"

// Model-specific knobs (see README.md).
const (
	EnvForkCap = "C10K_FORK_CAP"     // cap on live children, 0 = none
	EnvChild   = "C10K_FORKED_CHILD" // set to 1 in a child
)

// PresetSeed reproduces the original experiment: Python socketserver's
// ForkingMixIn (max_children = 40) on a TCPServer (request_queue_size = 5).
const PresetSeed = "seed"

const (
	seedCap     = 40
	seedBacklog = 5
)

func main() {
	if os.Getenv(EnvChild) == "1" {
		os.Exit(child(childFD))
	}
	cfg, forkCap, err := loadConfig()
	if err != nil {
		modelkit.Fatal(model, err)
	}
	// Each child reads the work again; a bad value must stop the model
	// here, before it listens.
	if _, err := modelkit.LoadWork(); err != nil {
		modelkit.Fatal(model, err)
	}
	if err := runParent(cfg, forkCap); err != nil {
		modelkit.Fatal(model, err)
	}
}

// loadConfig reads the contract variables and C10K_FORK_CAP, applying the
// preset where no variable was set explicitly.
func loadConfig() (modelkit.Config, int, error) {
	cfg, err := modelkit.LoadConfig()
	if err != nil {
		return cfg, 0, err
	}
	forkCap := 0
	switch cfg.Preset {
	case "":
	case PresetSeed:
		forkCap = seedCap
		if os.Getenv(modelkit.EnvBacklog) == "" {
			cfg.Backlog = seedBacklog
		}
	default:
		return cfg, 0, fmt.Errorf("%s=%q: unknown preset (known: %s)", modelkit.EnvPreset, cfg.Preset, PresetSeed)
	}
	if forkCap, err = modelkit.IntEnv(EnvForkCap, forkCap); err != nil {
		return cfg, 0, err
	}
	if forkCap < 0 {
		return cfg, 0, fmt.Errorf("%s=%d: want 0 (no cap) or more", EnvForkCap, forkCap)
	}
	return cfg, forkCap, nil
}

// childEnv is the environment of every child: the parent's, marked as a
// child, with the runtime trimmed to what one blocking echo loop needs.
// One P is enough for one goroutine, and a loop that allocates nothing has
// no garbage to collect, so the collector stays off.
func childEnv() []string {
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		switch {
		case hasKey(kv, EnvChild), hasKey(kv, "GOMAXPROCS"), hasKey(kv, "GOGC"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, EnvChild+"=1", "GOMAXPROCS=1", "GOGC=off")
}

func hasKey(kv, key string) bool {
	return len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '='
}
