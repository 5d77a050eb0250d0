// Package contract is the one definition of the model contract of
// models/README.md: the environment variables a model is started with,
// their defaults, the failure-report lines a model may write on stdout and
// their kinds, and how long a model has to exit after SIGTERM.
//
// It is a leaf: it imports nothing of c10klab, so the models' helper
// (models/internal/modelkit), the runner, the conformance suite and the
// diagnosis all import it and a model never depends on the runner. A model
// in another language keeps the same contract by reading the table in
// models/README.md, which a test holds in step with Vars.
package contract

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Environment variables the runner sets when it starts a model.
const (
	EnvAddr      = "C10K_ADDR"
	EnvBacklog   = "C10K_BACKLOG"
	EnvReusePort = "C10K_REUSEPORT"
	EnvInstance  = "C10K_INSTANCE"
	EnvLoops     = "C10K_LOOPS"
	EnvPreset    = "C10K_PRESET"
)

// Prefix starts every contract variable, the common ones above and each
// model's own knobs (C10K_FORK_CAP...): a launcher drops inherited ones so
// a model gets exactly the values it is given.
const Prefix = "C10K_"

// Defaults a model applies when a variable is unset.
const (
	DefaultAddr    = "127.0.0.1:9999"
	DefaultBacklog = 4096
	DefaultLoops   = 1
)

// StopBudget is how long a model has to exit after SIGTERM reaches its
// process group; then the runner SIGKILLs the group.
const StopBudget = 2 * time.Second

// Var documents one variable; Vars is the table of models/README.md.
type Var struct {
	Name    string
	Meaning string
	Default string // as the README shows it; "none" when unset means nothing
}

// Vars lists the contract's variables in the order models/README.md shows
// them.
func Vars() []Var {
	return []Var{
		{EnvAddr, "`ip:port` to listen on (never a host name)", DefaultAddr},
		{EnvBacklog, "`listen(2)` backlog; the kernel caps it at `net.core.somaxconn`", strconv.Itoa(DefaultBacklog)},
		{EnvReusePort, "`1` to set `SO_REUSEPORT`, so the runner can start several instances on one port", "0"},
		{EnvInstance, "index of this instance among those sharing the port (for reports)", "0"},
		{EnvLoops, "event loops, for reactor models (the runner pins a model to one CPU, so 1)", strconv.Itoa(DefaultLoops)},
		{EnvPreset, "a model-specific named preset (e.g. `forked`'s `seed`); the runner sets it from `model:preset`", "none"},
		{EnvWork, "work per request before its echo, e.g. `cpu=200us`, `wait=50ms`, `block=5ms`, `cpu=100us,wait=20ms` (see \"Work per request\")", "none"},
		{EnvSize, "bytes per request, when `C10K_WORK` is set", strconv.Itoa(DefaultSize)},
	}
}

// Config is what the common variables say.
type Config struct {
	Addr      string // ip:port to listen on
	Backlog   int    // listen(2) backlog; 0 when writing: leave the model's default
	ReusePort bool   // set SO_REUSEPORT so several instances share Addr
	Instance  int    // index of this instance among those started on Addr
	Loops     int    // event loops for reactor models; 0 when writing: the default
	Preset    string // a model-specific named preset, "" for none
}

// Load reads the common variables through getenv (os.Getenv, or a map's
// lookup in a test), applying the defaults.
func Load(getenv func(string) string) (Config, error) {
	c := Config{Addr: DefaultAddr, Backlog: DefaultBacklog, Loops: DefaultLoops}
	if v := strings.TrimSpace(getenv(EnvAddr)); v != "" {
		c.Addr = v
	}
	if _, err := netip.ParseAddrPort(c.Addr); err != nil {
		return c, fmt.Errorf("%s=%q: want ip:port: %w", EnvAddr, c.Addr, err)
	}
	var err error
	if c.Backlog, err = Int(getenv, EnvBacklog, c.Backlog); err != nil {
		return c, err
	}
	if c.ReusePort, err = Bool(getenv, EnvReusePort, false); err != nil {
		return c, err
	}
	if c.Instance, err = Int(getenv, EnvInstance, 0); err != nil {
		return c, err
	}
	if c.Loops, err = Int(getenv, EnvLoops, c.Loops); err != nil {
		return c, err
	}
	if c.Loops < 1 {
		return c, fmt.Errorf("%s=%d: need at least one event loop", EnvLoops, c.Loops)
	}
	c.Preset = strings.TrimSpace(getenv(EnvPreset))
	return c, nil
}

// Environ is c as the KEY=VALUE lines a launcher adds to a model's
// environment: the address, instance and SO_REUSEPORT always; the backlog,
// loops and preset only when set, so that the model's own default applies
// otherwise (forked:seed listens with Python's backlog of 5).
func (c Config) Environ() []string {
	env := []string{
		EnvAddr + "=" + c.Addr,
		EnvInstance + "=" + strconv.Itoa(c.Instance),
		EnvReusePort + "=" + FormatBool(c.ReusePort),
	}
	if c.Backlog > 0 {
		env = append(env, EnvBacklog+"="+strconv.Itoa(c.Backlog))
	}
	if c.Loops > 0 {
		env = append(env, EnvLoops+"="+strconv.Itoa(c.Loops))
	}
	if c.Preset != "" {
		env = append(env, EnvPreset+"="+c.Preset)
	}
	return env
}

// Int reads an integer variable, returning def when it is unset.
func Int(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q: not an integer", name, v)
	}
	return n, nil
}

// Bool reads a boolean variable ("1", "true", "0", "false"...), returning
// def when it is unset.
func Bool(getenv func(string) string, name string, def bool) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q: not a boolean", name, v)
	}
	return b, nil
}

// FormatBool writes a boolean the way every language's model can read it:
// "1" or "0".
func FormatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Without returns env without the contract's variables (every KEY starting
// with Prefix), so an inherited C10K_ value never reaches a model by
// accident.
func Without(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, Prefix) {
			out = append(out, kv)
		}
	}
	return out
}
