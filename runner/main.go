// Command c10klab measures how many concurrent TCP connections each server
// concurrency model under models/ sustains, at what latency, memory and
// CPU, and explains what fails first and why. See README.md.
package main

import (
	"os"

	"c10klab/runner/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
