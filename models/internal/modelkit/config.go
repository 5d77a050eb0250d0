// Package modelkit holds what every Go model in models/ shares: reading the
// model contract's environment variables, opening the listening socket with
// the requested backlog and SO_REUSEPORT, and emitting JSON-lines failure
// reports on stdout. The contract itself is language-neutral and documented
// in models/README.md; this package is one implementation of it.
package modelkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Contract environment variables (see models/README.md).
const (
	EnvAddr      = "C10K_ADDR"
	EnvBacklog   = "C10K_BACKLOG"
	EnvReusePort = "C10K_REUSEPORT"
	EnvPreset    = "C10K_PRESET"
	EnvInstance  = "C10K_INSTANCE"
	EnvLoops     = "C10K_LOOPS"
)

// Config is the part of the contract common to all models.
type Config struct {
	Addr      string // host:port to listen on
	Backlog   int    // listen(2) backlog; the kernel caps it at net.core.somaxconn
	ReusePort bool   // set SO_REUSEPORT so several instances share Addr
	Preset    string // a model-specific named preset, "" for none
	Instance  int    // index of this instance among those started on Addr
	Loops     int    // event loops for reactor models
}

// Defaults used when a variable is unset.
const (
	DefaultAddr    = "127.0.0.1:9999"
	DefaultBacklog = 4096
	DefaultLoops   = 1
)

// LoadConfig reads the common contract variables.
func LoadConfig() (Config, error) {
	c := Config{Addr: DefaultAddr, Backlog: DefaultBacklog, Loops: DefaultLoops}
	if v := os.Getenv(EnvAddr); v != "" {
		c.Addr = v
	}
	var err error
	if c.Backlog, err = IntEnv(EnvBacklog, c.Backlog); err != nil {
		return c, err
	}
	if c.ReusePort, err = BoolEnv(EnvReusePort, false); err != nil {
		return c, err
	}
	if c.Instance, err = IntEnv(EnvInstance, 0); err != nil {
		return c, err
	}
	if c.Loops, err = IntEnv(EnvLoops, c.Loops); err != nil {
		return c, err
	}
	if c.Loops < 1 {
		return c, fmt.Errorf("%s=%d: need at least one event loop", EnvLoops, c.Loops)
	}
	c.Preset = os.Getenv(EnvPreset)
	return c, nil
}

// IntEnv reads an integer knob, returning def when the variable is unset.
func IntEnv(name string, def int) (int, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q: not an integer", name, v)
	}
	return n, nil
}

// BoolEnv reads a boolean knob ("1", "true", "0", "false"...).
func BoolEnv(name string, def bool) (bool, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q: not a boolean", name, v)
	}
	return b, nil
}

// Fatal prints a start-up error on stderr and exits with status 2. Models
// use it before they listen, so the runner sees the cause in stderr.
func Fatal(model string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", model, err)
	os.Exit(2)
}
