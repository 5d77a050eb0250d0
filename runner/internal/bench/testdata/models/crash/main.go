// Command crash is a test model that fails at start, as a model with a
// bad configuration would.
package main

import "os"

func main() {
	os.Stderr.WriteString("crash: cannot start: test model exits at once\n")
	os.Exit(3)
}
