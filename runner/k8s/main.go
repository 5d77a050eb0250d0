// Command c10klab-k8s writes the Kubernetes objects for a c10klab run: the
// model as a Deployment behind a Service, the swarm as an Indexed Job (one
// agent per index, each dialling back to the runner's control address).
// `c10klab k8s` runs it. It is a module of its own so that the Kubernetes
// API modules stay out of the harness's build (docs/scale-out.md).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"c10klab/runner/internal/imagelayout"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("k8s", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: c10klab k8s --control IP:PORT [--image IMAGE] [flags] > run.yaml

Writes, as YAML for kubectl apply, the objects of one run on a cluster: the
model as a Deployment behind a Service, and the swarm as an Indexed Job of
agents that dial the runner's control address. The runner is then started
with that control address and waits for the agents (docs/scale-out.md).

flags:
`)
		fs.PrintDefaults()
	}
	var r Run
	control := fs.String("control", "", "the runner's control address ip:port, reachable from the pods")
	fs.StringVar(&r.Namespace, "namespace", "c10klab", "namespace of the objects")
	fs.StringVar(&r.Image, "image", imagelayout.Name, "image holding /c10klab and the models under /models/: make image builds the default")
	fs.StringVar(&r.Model, "model", "epoll", "the model to run")
	fs.IntVar(&r.Port, "port", 9999, "the model's port")
	fs.IntVar(&r.Backlog, "backlog", 0, "the model's listen backlog (C10K_BACKLOG); 0: its default")
	fs.IntVar(&r.Conns, "conns", 1_000_000, "connections the whole swarm offers")
	fs.IntVar(&r.Agents, "agents", 0, fmt.Sprintf("agent pods (Job completions); 0: one per %d connections", PerAgentMax))
	fs.IntVar(&r.Replicas, "replicas", 0, fmt.Sprintf("model pods; 0: one per %d connections", PerReplicaMax))
	fs.DurationVar(&r.Interval, "interval", time.Minute, "time between messages on one connection")
	fs.DurationVar(&r.Deadline, "deadline", time.Second, "an echo later than this fails")
	fs.IntVar(&r.Rate, "rate", 50_000, "connections opened per second by the whole swarm")
	fs.IntVar(&r.MsgSize, "size", 16, "message size in bytes")
	fs.DurationVar(&r.MaxRun, "max-run", 30*time.Minute, "the swarm's Job stops after this, whatever happens")
	fs.BoolVar(&r.UnsafeSysctls, "unsafe-sysctls", false, "set net.core.somaxconn in the model pods (the kubelet must allow it)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *control != "" {
		ap, err := netip.ParseAddrPort(*control)
		if err != nil {
			fmt.Fprintf(stderr, "c10klab k8s: --control %q: %v (want ip:port)\n", *control, err)
			return 2
		}
		r.Control = ap
	}
	objs, err := Objects(r)
	if err != nil {
		fmt.Fprintf(stderr, "c10klab k8s: %v\n", err)
		return 2
	}
	out, err := render(objs)
	if err != nil {
		fmt.Fprintf(stderr, "c10klab k8s: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "c10klab k8s: %v\n", err)
		return 1
	}
	return 0
}

// render writes the objects as one YAML stream, a document each.
func render(objs []runtime.Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("render %T: %w", o, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}
