package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"

	"c10klab/runner/internal/imagelayout"
	"c10klab/runner/internal/swarm"
)

func oneMillion() Run {
	return Run{
		Namespace: "c10klab", Image: "registry.example/c10klab:dev", Model: "epoll", Port: 9999,
		Conns: 1_000_000, Control: netip.MustParseAddrPort("10.0.0.10:7000"),
		Interval: time.Minute, Deadline: time.Second, Rate: 50_000, MsgSize: 16, MaxRun: 30 * time.Minute,
	}
}

// strictDecoder decodes YAML into the typed objects and refuses unknown
// and duplicate fields, as `kubectl apply --validate=strict` would.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
}

func docs(b []byte) [][]byte { return bytes.Split(b, []byte("\n---\n")) }

// TestObjectsDecodeStrictly writes the objects of a 1M run, decodes every
// document strictly into its typed object again and compares it with the
// object it was made from.
func TestObjectsDecodeStrictly(t *testing.T) {
	objs, err := Objects(oneMillion())
	if err != nil {
		t.Fatal(err)
	}
	out, err := render(objs)
	if err != nil {
		t.Fatal(err)
	}
	dec := strictDecoder(t)
	ds := docs(out)
	if len(ds) != len(objs) {
		t.Fatalf("%d documents for %d objects:\n%s", len(ds), len(objs), out)
	}
	for i, d := range ds {
		got, _, err := dec.Decode(d, nil, nil)
		if err != nil {
			t.Fatalf("document %d: strict decode: %v\n%s", i, err, d)
		}
		// The decoder fills TypeMeta from the document, as the original has.
		if !equality.Semantic.DeepEqual(got, objs[i]) {
			t.Errorf("document %d decodes to %+v, made from %+v", i, got, objs[i])
		}
	}
}

// TestStrictDecoderRefuses shows the check above can fail: a misspelt
// field and a duplicate field are refused.
func TestStrictDecoderRefuses(t *testing.T) {
	dec := strictDecoder(t)
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr: {a: b}\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  name: y\n",
	} {
		if _, _, err := dec.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("accepted:\n%s", doc)
		}
	}
}

// TestOneMillionShape checks the arithmetic of the 1M run's objects.
func TestOneMillionShape(t *testing.T) {
	objs, err := Objects(oneMillion())
	if err != nil {
		t.Fatal(err)
	}
	svc, dep, job := objs[0].(*corev1.Service), objs[1].(*appsv1.Deployment), objs[2].(*batchv1.Job)
	if svc.Spec.Ports[0].Port != 9999 || svc.Spec.Selector["app.kubernetes.io/component"] != "model" {
		t.Errorf("service %+v", svc.Spec)
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2 (500,000 connections each)", *dep.Spec.Replicas)
	}
	if *job.Spec.CompletionMode != batchv1.IndexedCompletion || *job.Spec.Completions != 20 || *job.Spec.Parallelism != 20 {
		t.Errorf("job: mode %v, completions %d, parallelism %d; want Indexed, 20, 20", *job.Spec.CompletionMode, *job.Spec.Completions, *job.Spec.Parallelism)
	}
	if *job.Spec.ActiveDeadlineSeconds != 1800 {
		t.Errorf("job runs for up to %ds, want 1800", *job.Spec.ActiveDeadlineSeconds)
	}
	// The paths make image puts them at (runner/image).
	if got, want := dep.Spec.Template.Spec.Containers[0].Command, imagelayout.ModelRun("epoll"); len(got) != 1 || got[0] != want || want != "/models/epoll/run" {
		t.Errorf("model command %q, want [%s]", got, want)
	}
	if got := job.Spec.Template.Spec.Containers[0].Command; len(got) != 1 || got[0] != "/c10klab" {
		t.Errorf("agent command %q, want [/c10klab]", got)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"agent --control 10.0.0.10:7000", "--index $(JOB_COMPLETION_INDEX)",
		"--addr $(C10K_MODEL_SERVICE_HOST):$(C10K_MODEL_SERVICE_PORT)", "--interval 1m0s", "--rate 2500"} {
		if !strings.Contains(args, want) {
			t.Errorf("agent args %q lack %q", args, want)
		}
	}
	// The agent's own flag parser accepts the args once Kubernetes has
	// expanded the two variables.
	expanded := strings.NewReplacer("$(JOB_COMPLETION_INDEX)", "19", "$(C10K_MODEL_SERVICE_HOST)", "10.96.0.20",
		"$(C10K_MODEL_SERVICE_PORT)", "9999").Replace(args)
	cfg, control, err := swarm.ParseAgentCommand(strings.Fields(expanded)[1:], &strings.Builder{})
	if err != nil || control != "10.0.0.10:7000" || cfg.Index != 19 || cfg.Addr.String() != "10.96.0.20:9999" {
		t.Errorf("agent parses %q as %+v, control %q, %v", expanded, cfg, control, err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != "2775Mi" {
		t.Errorf("model memory %s, want 2775Mi: 500,000 x (295 B + 3,584 B) x 1.5", got)
	}
	if got := job.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != "263Mi" {
		t.Errorf("agent memory %s, want 263Mi: 50,000 x (80 B + 3,584 B) x 1.5", got)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Run)
		want string
	}{
		{"unknown model", func(r *Run) { r.Model = "nope" }, "no measured costs"},
		{"no image", func(r *Run) { r.Image = "" }, "no image"},
		{"no control", func(r *Run) { r.Control = netip.AddrPort{} }, "no control address"},
		{"ports per agent", func(r *Run) { r.Agents = 10 }, "64,512 ports"},
		{"too many agents", func(r *Run) { r.Conns = 20_000_000 }, "index is 0..200"},
	}
	for _, c := range cases {
		r := oneMillion()
		c.mod(&r)
		if _, err := Objects(r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestRunWritesYAML(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"--image", "i", "--control", "10.0.0.10:7000", "--conns", "10000"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n---\n"); n != 2 {
		t.Errorf("%d separators, want 2:\n%s", n, out.String())
	}
	if code := run([]string{"--image", "i"}, &out, &errb); code != 2 {
		t.Errorf("no --control: exit %d, want 2", code)
	}
	// Without --image the objects name the image make image builds.
	out.Reset()
	if code := run([]string{"--control", "10.0.0.10:7000", "--conns", "10000"}, &out, &errb); code != 0 {
		t.Fatalf("no --image: exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "image: "+imagelayout.Name+"\n"); n != 2 {
		t.Errorf("%d containers name %s, want 2:\n%s", n, imagelayout.Name, out.String())
	}
}
