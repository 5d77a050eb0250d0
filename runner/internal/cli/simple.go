package cli

import (
	"context"
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
		fmt.Fprintln(stderr, "usage: c10klab list [--models-dir DIR]\n\nLists the models under models/: folders with a Go main package or an executable named run,\nand what a model declares in its requires file that this machine lacks.\n\nflags:")
		fs.PrintDefaults()
	}
	// The image (make image) has no project around its models, only
	// /models: this names them there.
	dir := fs.String("models-dir", "", "list the models in DIR instead of the project's models/")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		p, err := findProject()
		if err != nil {
			return err
		}
		*dir = p.models()
	}
	ms, err := model.Discover(*dir)
	if err != nil {
		return err
	}
	for _, m := range ms {
		kind := "go main package"
		if m.Run != "" {
			kind = "executable run"
		}
		line := fmt.Sprintf("%-12s %s (%s)", m.Name, m.Dir, kind)
		c, err := model.CheckRequires(context.Background(), m)
		if err != nil {
			return err
		}
		if len(c.Missing) > 0 {
			line += "; bench skips it: " + model.MissingText(c.Missing)
		}
		fmt.Fprintln(stdout, line)
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
