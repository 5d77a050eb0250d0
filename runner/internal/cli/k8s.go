package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// k8sTool is the program that writes the Kubernetes objects: a module of
// its own (runner/k8s) so that the Kubernetes API modules, as large as the
// rest of c10klab together, stay out of this binary's build.
const k8sTool = "c10klab-k8s"

// k8sCmd runs c10klab-k8s from beside this executable, else from PATH.
func k8sCmd(args []string, stdout, stderr io.Writer) error {
	path := ""
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), k8sTool); isExecutable(p) {
			path = p
		}
	}
	if path == "" {
		p, err := exec.LookPath(k8sTool)
		if err != nil {
			return fmt.Errorf("%s not found beside c10klab or on PATH: build it with make k8s", k8sTool)
		}
		path = p
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() == 2 {
			return errUsage // the tool said what was wrong
		}
		return exitCode(ee.ExitCode())
	}
	return err
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
