// Package imagelayout says where things are in c10klab's container image
// (`make image`, runner/image) and what the image is called, so the image
// builder and the Kubernetes objects that run it (runner/k8s) agree by
// construction.
package imagelayout

import "path"

// Name is the image's default reference. Not ":latest": Kubernetes pulls
// an image tagged latest on every pod start (imagePullPolicy defaults to
// Always), so an image loaded into a kind or containerd node without a
// registry would never start; any other tag defaults to IfNotPresent.
const Name = "c10klab:local"

// Runner is the c10klab executable.
const Runner = "/c10klab"

// ModelsDir holds one folder per model, as models/ does in the project,
// so model discovery (runner/internal/model) finds them there.
const ModelsDir = "/models"

// ModelRun is the model's executable: a static binary named run, which
// discovery takes for a `run` model.
func ModelRun(model string) string { return path.Join(ModelsDir, model, "run") }
