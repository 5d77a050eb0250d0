package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"c10klab/runner/internal/imagelayout"
)

// Options say what to build and where.
type Options struct {
	Root     string    // the project: go.mod, runner/, models/
	Out      string    // the tarball to write
	Name     string    // the image's reference in the tarball (imagelayout.Name)
	Revision string    // the source's revision, for the label; "" leaves it out
	Epoch    time.Time // every file's time and the image's creation time
}

// Result is what was built.
type Result struct {
	Ref     name.Tag
	Digest  v1.Hash // the image's manifest digest: what a registry names it by
	Size    int64   // the tarball's size
	Layers  []layer
	Models  []string
	LeftOut []leftOut
}

// Label keys of the image's config beside the OCI ones.
const (
	labelModels  = "c10klab.models"
	labelLeftOut = "c10klab.models.left-out"
)

// tmpDir is in the image for programs that write temporary files
// (os.TempDir): the base is empty, so nothing else makes it.
var tmpDir = dir{path: "/tmp", mode: 0o1777}

// Build builds the runner and the models, makes the image and writes it
// as a docker-save tarball (tarball.Write: manifest.json, the config and
// one gzipped tar per layer), which `kind load image-archive`, `ctr images
// import`, `crane push` and `docker load` all accept. The tarball is
// written beside Out and renamed, so Out is never half-written.
func Build(ctx context.Context, o Options) (Result, error) {
	ref, err := name.NewTag(o.Name)
	if err != nil {
		return Result{}, fmt.Errorf("image name %q: %w", o.Name, err)
	}
	// Absolute: models' run scripts start in it, by their own paths.
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return Result{}, err
	}
	work, err := os.MkdirTemp("", "c10klab-image-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	c, err := collect(ctx, o.Root, work)
	if err != nil {
		return Result{}, err
	}
	img, layers, err := assemble(c, o)
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("image digest: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return Result{}, err
	}
	tmp := o.Out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return Result{}, fmt.Errorf("write %s: %w", o.Out, err)
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		os.Remove(tmp)
		return Result{}, err
	}
	st, err := os.Stat(o.Out)
	if err != nil {
		return Result{}, err
	}
	return Result{Ref: ref, Digest: digest, Size: st.Size(), Layers: layers, Models: c.names, LeftOut: c.leftOut}, nil
}

// assemble puts the contents on an empty base: one layer for the runner,
// one for the models, and a config that runs `c10klab list` on them by
// default.
func assemble(c contents, o Options) (v1.Image, []layer, error) {
	runnerLayer, err := tarLayer([]file{c.runner}, []dir{tmpDir}, o.Epoch)
	if err != nil {
		return nil, nil, err
	}
	modelsLayer, err := tarLayer(c.models, []dir{{imagelayout.ModelsDir, 0o755}}, o.Epoch)
	if err != nil {
		return nil, nil, err
	}
	created := v1.Time{Time: o.Epoch}
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{imagelayout.Runner},
			Cmd:        []string{"list", "--models-dir", imagelayout.ModelsDir},
			WorkingDir: "/",
			Labels:     labels(c, o),
		},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("image config: %w", err)
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: runnerLayer, History: v1.History{Created: created, CreatedBy: "c10klab-image: " + imagelayout.Runner}},
		mutate.Addendum{Layer: modelsLayer, History: v1.History{Created: created, CreatedBy: "c10klab-image: " + imagelayout.ModelsDir + "/" + strings.Join(c.names, ",")}},
	)
	if err != nil {
		return nil, nil, fmt.Errorf("image layers: %w", err)
	}
	return img, []layer{runnerLayer, modelsLayer}, nil
}

// labels say what the image holds and what it does not, and why: the
// models left out need an interpreter or are not static, and
// docs/scale-out.md says how to add a base that has Python.
func labels(c contents, o Options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title": "c10klab",
		"org.opencontainers.image.description": "c10klab's runner (" + imagelayout.Runner + ") and the models that run as static binaries (" +
			imagelayout.ModelRun("NAME") + "): the Go and C models. Models that need an interpreter (Python, Node) or are not static are left out: see " + labelLeftOut + " and docs/scale-out.md.",
		labelModels: strings.Join(c.names, ","),
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	// One entry per reason, naming its models: nine Python models share one.
	var reasons []string
	names := map[string][]string{}
	for _, x := range c.leftOut {
		if names[x.why] == nil {
			reasons = append(reasons, x.why)
		}
		names[x.why] = append(names[x.why], x.name)
	}
	var out []string
	for _, why := range reasons {
		out = append(out, strings.Join(names[why], ", ")+": "+why)
	}
	if len(out) > 0 {
		l[labelLeftOut] = strings.Join(out, "; ")
	}
	return l
}
