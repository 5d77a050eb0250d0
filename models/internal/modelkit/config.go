// Package modelkit holds what every Go model in models/ shares: reading the
// model contract's environment variables, opening the listening socket with
// the requested backlog and SO_REUSEPORT, and emitting JSON-lines failure
// reports on stdout. The contract itself is language-neutral, defined once
// in package c10klab/contract and documented in models/README.md; this
// package is the Go models' implementation of it.
package modelkit

import (
	"fmt"
	"os"

	"c10klab/contract"
)

// The contract's variables, defaults and config, defined once in package
// contract and named here too so a model needs one import.
const (
	EnvAddr      = contract.EnvAddr
	EnvBacklog   = contract.EnvBacklog
	EnvReusePort = contract.EnvReusePort
	EnvPreset    = contract.EnvPreset
	EnvInstance  = contract.EnvInstance
	EnvLoops     = contract.EnvLoops

	DefaultAddr    = contract.DefaultAddr
	DefaultBacklog = contract.DefaultBacklog
	DefaultLoops   = contract.DefaultLoops
)

// Config is the part of the contract common to all models.
type Config = contract.Config

// LoadConfig reads the common contract variables from the environment.
func LoadConfig() (Config, error) { return contract.Load(os.Getenv) }

// IntEnv reads an integer knob, returning def when the variable is unset.
func IntEnv(name string, def int) (int, error) { return contract.Int(os.Getenv, name, def) }

// BoolEnv reads a boolean knob ("1", "true", "0", "false"...).
func BoolEnv(name string, def bool) (bool, error) { return contract.Bool(os.Getenv, name, def) }

// Fatal prints a start-up error on stderr and exits with status 2. Models
// use it before they listen, so the runner sees the cause in stderr.
func Fatal(model string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", model, err)
	os.Exit(2)
}
