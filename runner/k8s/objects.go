package main

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"c10klab/runner/internal/imagelayout"
	"c10klab/runner/internal/swarm"
)

// Run is what the objects are made from.
type Run struct {
	Namespace string
	Image     string // holds /c10klab and the models' binaries as /models/<name>/run (imagelayout)
	Model     string
	Port      int
	Backlog   int
	Conns     int // connections the whole swarm offers
	// Agents is the Job's completions (one agent pod per index); 0: enough
	// that none holds more than PerAgentMax.
	Agents int
	// Replicas of the model behind the Service; 0: enough that none holds
	// more than PerReplicaMax.
	Replicas int
	Control  netip.AddrPort // the runner's control listener the agents dial
	Interval time.Duration
	Deadline time.Duration
	Rate     int // connections opened per second, whole swarm
	MsgSize  int
	MaxRun   time.Duration // the Job's activeDeadlineSeconds: the load stops by itself
	// UnsafeSysctls adds net.core.somaxconn to the model pods; the kubelet
	// must allow it (--allowed-unsafe-sysctls), or the pods are refused.
	UnsafeSysctls bool
}

// PerAgentMax: an agent pod has one address and dials one Service
// address, so its connections are bounded by one ephemeral port range
// (1024-65535 = 64,512, set below); 50,000 leaves room for ports in
// TIME_WAIT and for the kernel's hashed port search.
const PerAgentMax = 50_000

// PerReplicaMax: a container's open-files limit is typically 1,048,576
// (containerd's default); half of it leaves room for SO_REUSEPORT-free
// Service balancing, which is random rather than even.
const PerReplicaMax = 500_000

// costs are per-connection figures measured here. User memory (PSS):
// `make bench`, run 20261126-044404 (README). Kernel memory
// per end: the slab objects one TCP socket takes on this kernel
// (/proc/slabinfo: TCP 2368 B, sock_inode_cache 832 B, filp 192 B, dentry
// 192 B = 3,584 B), which is more than half the both-ends figure make bench
// measures (4.5-5.7 KiB), so limits err on the safe side.
type cost struct {
	userBytes float64
}

const kernelPerEnd = 2368 + 832 + 192 + 192

var measured = map[string]cost{
	"epoll":     {295},
	"evio":      {283},
	"gnet":      {472},
	"netpoll":   {8.4 * 1024},
	"goroutine": {7.6 * 1024},
}

// agentBytesPerConn is the agent's own state per connection: its conn
// record (40 B), a timer (24 B) and an fd-to-slot entry (4 B), from
// swarm/agent.go's types, rounded up.
const agentBytesPerConn = 80

// headroom multiplies the estimates into limits: the kernel's per-socket
// memory grows with buffered data, and allocators round up.
const headroom = 1.5

func (r *Run) defaults() error {
	_, ok := measured[r.Model]
	switch {
	case !ok:
		return fmt.Errorf("no measured costs for model %q (have epoll, evio, gnet, netpoll, goroutine)", r.Model)
	case r.Image == "":
		return fmt.Errorf("no image: give --image, one holding %s and %s (make image)", imagelayout.Runner, imagelayout.ModelRun(r.Model))
	case !r.Control.IsValid():
		return fmt.Errorf("no control address: give --control ip:port, where the runner listens for the agents")
	case r.Conns < 1:
		return fmt.Errorf("connections %d must be positive", r.Conns)
	case r.Deadline <= 0 || r.Deadline > r.Interval:
		return fmt.Errorf("deadline %v must be positive and at most the interval %v", r.Deadline, r.Interval)
	}
	if r.Agents == 0 {
		r.Agents = ceilDiv(r.Conns, PerAgentMax)
	}
	if r.Replicas == 0 {
		r.Replicas = ceilDiv(r.Conns, PerReplicaMax)
	}
	if r.Agents > 201 {
		return fmt.Errorf("%d agents: the agent index is 0..200; give fewer, larger agents", r.Agents)
	}
	if per := ceilDiv(r.Conns, r.Agents); per > 64_512 {
		return fmt.Errorf("%d connections per agent: one pod address reaches one Service address through at most 64,512 ports; give --agents %d or more", per, ceilDiv(r.Conns, 64_512))
	}
	return nil
}

// Objects returns the Service, the model's Deployment and the swarm's
// Indexed Job, in the order they must be applied: agents find the Service's
// address in the environment variables Kubernetes sets only for Services
// that exist when a pod starts.
func Objects(r Run) ([]runtime.Object, error) {
	if err := r.defaults(); err != nil {
		return nil, err
	}
	return []runtime.Object{service(r), deployment(r), job(r)}, nil
}

const (
	modelName = "c10k-model" // Service and Deployment; env C10K_MODEL_SERVICE_HOST/_PORT
	swarmName = "c10k-swarm"
)

func labels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "c10klab", "app.kubernetes.io/component": component}
}

func meta(name, namespace, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels(component)}
}

func service(r Run) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(modelName, r.Namespace, "model"),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: labels("model"),
			Ports: []corev1.ServicePort{{
				Name: "echo", Protocol: corev1.ProtocolTCP,
				Port: int32(r.Port), TargetPort: intstr.FromInt32(int32(r.Port)),
			}},
		},
	}
}

func deployment(r Run) *appsv1.Deployment {
	c := measured[r.Model]
	perReplica := ceilDiv(r.Conns, r.Replicas)
	mem := bytesQuantity(float64(perReplica) * (c.userBytes + kernelPerEnd) * headroom)
	// A model is measured on one CPU by bench; its echo work at this rate
	// is far below one (docs/scale-out.md), the connect ramp is not.
	cpu := resource.MustParse("1")
	env := []corev1.EnvVar{
		// The model contract (models/README.md).
		{Name: "C10K_ADDR", Value: "0.0.0.0:" + strconv.Itoa(r.Port)},
		{Name: "C10K_INSTANCE", Value: "0"},
		{Name: "C10K_REUSEPORT", Value: "0"},
	}
	if r.Backlog > 0 {
		env = append(env, corev1.EnvVar{Name: "C10K_BACKLOG", Value: strconv.Itoa(r.Backlog)})
	}
	pod := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "model", Image: r.Image, Command: []string{imagelayout.ModelRun(r.Model)}, Env: env,
			Ports: []corev1.ContainerPort{{Name: "echo", ContainerPort: int32(r.Port), Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(r.Port))}},
				PeriodSeconds: 2,
			},
		}},
		// The contract: SIGTERM, then exit promptly.
		TerminationGracePeriodSeconds: ptr(int64(10)),
		TopologySpreadConstraints:     spread("model"),
	}
	if r.UnsafeSysctls {
		pod.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "65535"}}}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(modelName, r.Namespace, "model"),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(r.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels("model")},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("model")}, Spec: pod},
		},
	}
}

// agentArgs renders an agent's flags with swarm's own renderer, then puts
// in the two values only the pod knows: its index and the Service address,
// which Kubernetes expands from the pod's environment.
func agentArgs(r Run) []string {
	ac := swarm.AgentConfig{
		Addr:     netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(r.Port)),
		Interval: r.Interval, Deadline: r.Deadline, ConnectTimeout: 5 * time.Second,
		MsgSize: r.MsgSize, Rate: max(r.Rate/r.Agents, 1), MaxInFlight: 4096,
	}
	args := swarm.DialBackArgs(ac, r.Control)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--index":
			args[i+1] = "$(JOB_COMPLETION_INDEX)"
		case "--addr":
			args[i+1] = "$(C10K_MODEL_SERVICE_HOST):$(C10K_MODEL_SERVICE_PORT)"
		}
	}
	return args
}

func job(r Run) *batchv1.Job {
	perAgent := ceilDiv(r.Conns, r.Agents)
	mem := bytesQuantity(float64(perAgent) * (agentBytesPerConn + kernelPerEnd) * headroom)
	cpu := resource.MustParse("500m")
	mode := batchv1.IndexedCompletion
	pod := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		// The agents read the Service's address from these variables.
		EnableServiceLinks:        ptr(true),
		TopologySpreadConstraints: spread("swarm"),
		Containers: []corev1.Container{{
			Name: "agent", Image: r.Image, Command: []string{imagelayout.Runner}, Args: agentArgs(r),
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
			},
		}},
		// One pod address to one Service address: the whole port range is
		// the agent's budget. A namespaced sysctl Kubernetes deems safe.
		SecurityContext:               &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}}},
		TerminationGracePeriodSeconds: ptr(int64(10)),
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(swarmName, r.Namespace, "swarm"),
		Spec: batchv1.JobSpec{
			CompletionMode: &mode,
			Completions:    ptr(int32(r.Agents)),
			Parallelism:    ptr(int32(r.Agents)),
			BackoffLimit:   ptr(int32(0)),
			// The load is bounded in time whatever the runner does.
			ActiveDeadlineSeconds: ptr(int64(math.Ceil(r.MaxRun.Seconds()))),
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("swarm")}, Spec: pod},
		},
	}
}

// spread asks the scheduler to put a component's pods on different nodes
// where it can: each node's conntrack table, CPU and memory then carry a
// share, not all.
func spread(component string) []corev1.TopologySpreadConstraint {
	return []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: &metav1.LabelSelector{MatchLabels: labels(component)},
	}}
}

func ptr[T any](v T) *T { return &v }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// bytesQuantity rounds up to whole MiB.
func bytesQuantity(b float64) resource.Quantity {
	mib := int64(math.Ceil(b / (1 << 20)))
	return *resource.NewQuantity(mib<<20, resource.BinarySI)
}
