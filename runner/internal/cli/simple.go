package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"c10klab/runner/internal/model"
	"c10klab/runner/internal/swarm"
)

func list(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: c10klab list\n\nLists the models under models/: folders with a Go main package or an executable named run.")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	p, err := findProject()
	if err != nil {
		return err
	}
	ms, err := model.Discover(p.models())
	if err != nil {
		return err
	}
	for _, m := range ms {
		kind := "go main package"
		if m.Run != "" {
			kind = "executable run"
		}
		fmt.Fprintf(stdout, "%-12s %s (%s)\n", m.Name, m.Dir, kind)
	}
	return nil
}

func agent(args []string, stderr io.Writer) error {
	cfg, control, err := swarm.ParseAgentCommand(args, stderr)
	if err != nil {
		return err
	}
	if control != "" {
		conn, err := swarm.DialControl(control, 2*time.Minute)
		if err != nil {
			return err
		}
		return swarm.RunAgentControl(cfg, conn)
	}
	return swarm.RunAgent(cfg, os.Stdin, os.Stdout)
}
