// Command c10klab-image builds c10klab's container image with no daemon and
// no network: the runner at /c10klab and every model that runs as a static
// binary at /models/<name>/run, on an empty base, written as a docker-save
// tarball (`make image`: bin/c10klab-image.tar). The same sources give the
// same bytes: sorted entries, fixed times, static binaries built with
// -trimpath. It is a module of its own so that go-containerregistry stays
// out of c10klab's build, as the Kubernetes modules do (runner/k8s).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"c10klab/runner/internal/imagelayout"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("c10klab-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: c10klab-image [flags]

Builds c10klab's image: /c10klab and the models that run as static binaries
under /models/<name>/run, on an empty base, as a tarball for kind load
image-archive, ctr images import or crane push (docs/scale-out.md).

flags:
`)
		fs.PrintDefaults()
	}
	var o Options
	fs.StringVar(&o.Root, "root", ".", "the c10klab project (go.mod, runner/, models/)")
	fs.StringVar(&o.Out, "out", "bin/c10klab-image.tar", "the tarball to write")
	fs.StringVar(&o.Name, "name", imagelayout.Name, "the image's name in the tarball (c10klab k8s names this one by default)")
	fs.StringVar(&o.Revision, "revision", "", "the source revision for the image's label, e.g. git describe --always --dirty")
	epoch := fs.Int64("epoch", 0, "time of every file and of the image, in seconds since 1970, e.g. the commit's time (git log -1 --format=%ct)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "c10klab-image: unexpected arguments %q\n", fs.Args())
		return 2
	}
	o.Epoch = time.Unix(*epoch, 0).UTC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := Build(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "c10klab-image: %v\n", err)
		return 1
	}
	summarize(stdout, o.Out, res, time.Since(start))
	return 0
}

// summarize prints what the image holds: its name and digest, each layer
// with its files and sizes, and the models left out and why.
func summarize(w io.Writer, out string, r Result, took time.Duration) {
	fmt.Fprintf(w, "%s: %s, %s, %s (built in %v)\n", out, r.Ref, r.Digest, mb(r.Size), took.Round(100*time.Millisecond))
	for i, l := range r.Layers {
		size, _ := l.Size()
		fmt.Fprintf(w, "layer %d: %s gzipped, %s as tar\n", i+1, mb(size), mb(l.uncompressed))
		for _, f := range l.files {
			fmt.Fprintf(w, "  %-32s %04o %9d B\n", f.path, f.mode, f.size)
		}
	}
	for _, x := range r.LeftOut {
		fmt.Fprintf(w, "left out %s: %s\n", x.name, x.why)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
