package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/guard"
	"c10klab/runner/internal/model"
	"c10klab/runner/internal/pin"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/sysenv"
)

// fdMargin is what a process needs beside its connections: stdio, the
// listening socket, epoll and event descriptors, the runtime's own.
const fdMargin = 64

// runnerNice is the nice value the runner measures at (pin.Favor): a
// weight of 9,548 against an agent's 1,024.
const runnerNice = -10

// Run measures every model in opt.Specs in turn and returns the run folder.
// It keeps going past a model that fails to start, so one broken model does
// not lose the others; the error it returns then names every such failure.
// When ctx is cancelled (Ctrl-C) it records what was measured, stops every
// process it started and returns ctx's error.
func Run(ctx context.Context, opt Options) (string, error) {
	if err := opt.Validate(); err != nil {
		return "", err
	}
	found, err := model.Discover(opt.ModelsDir)
	if err != nil {
		return "", err
	}
	// A model whose declared requirement is missing is skipped, named in
	// the run's warnings, instead of failing the run.
	resolved, err := model.Resolve(ctx, found, opt.Specs)
	if err != nil {
		return "", err
	}
	var skipped []string
	for _, sk := range resolved.Skipped {
		skipped = append(skipped, sk.Msg)
		if opt.Observe != nil {
			opt.Observe(sk.Spec.Label(), results.Record{Type: results.TypeEvent,
				Event: &results.Event{Time: time.Now(), Kind: model.EventSkipped, Msg: sk.Msg}})
		}
	}
	if len(resolved.Specs) == 0 {
		return "", fmt.Errorf("no model to measure: %s", strings.Join(skipped, "; "))
	}
	models := resolved.Models
	opt.Specs = resolved.Specs
	var labels []string
	for _, s := range opt.Specs {
		labels = append(labels, s.Label())
	}
	if err := model.CheckPortFree(opt.Addr); err != nil {
		return "", err
	}

	env, err := sysenv.Read()
	if err != nil {
		return "", fmt.Errorf("read environment: %w", err)
	}
	perProcess := opt.ConnsPerProcess
	if perProcess <= 0 {
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return "", fmt.Errorf("read open-files limit: %w", err)
		}
		perProcess = int(lim.Cur) - fdMargin
	}
	modelCPUs, swarmCPUs := opt.ModelCPUs, opt.SwarmCPUs
	if opt.Pin && (modelCPUs == nil || swarmCPUs == nil) {
		// The guard's cpu cgroup makes the model one scheduling entity,
		// which is what lets the swarm share its CPU safely.
		m, s, err := pin.Split(opt.Guard && guard.Supported() == nil && !opt.SwarmApart)
		if err != nil {
			return "", err
		}
		if modelCPUs == nil {
			modelCPUs = m
		}
		if swarmCPUs == nil {
			swarmCPUs = s
		}
	}

	if opt.Pin && len(modelCPUs) > 0 {
		// The runner samples the model each second (a forked model of
		// 20,000 processes: 0.66 CPU of it); done on the model's CPU, that
		// was measured as the model's latency.
		restore, err := pin.Avoid(modelCPUs)
		if err != nil {
			env.Warnings = append(env.Warnings, err.Error())
		} else {
			defer restore()
		}
	}
	// The runner's sample each second must not queue behind the load it
	// measures (pin.Favor: at a million connections, behind 101 busy
	// agents, samples came 2-6 s apart). It uses a few hundredths of a
	// CPU, so the favour costs the agents and the model next to nothing;
	// the models and agents themselves start at nice 0 (pin.Start).
	if restore, err := pin.Favor(runnerNice); err != nil {
		env.Warnings = append(env.Warnings, err.Error()+": the runner's samples may come late on a full machine")
	} else {
		defer restore()
	}
	env.Warnings = append(env.Warnings, skipped...)
	env.Warnings = append(env.Warnings, Preflight(env, opt.Steps[len(opt.Steps)-1], opt.Procs, cmp.Or(opt.Backlog, DefaultModelBacklog), perProcess)...)

	mach := opt.Machine
	if mach == nil {
		mm, err := ReadMachine()
		if err != nil {
			return "", err
		}
		mach = &mm
	}
	top, topEnd, topWhy := opt.searchTop(*mach)

	id, dir, err := results.NewRunDir(opt.ResultsDir, time.Now(), "")
	if err != nil {
		return "", err
	}
	run := &results.Run{
		ID: id, Started: time.Now(), Command: opt.Command,
		Config: opt.config(labels, modelCPUs, swarmCPUs, perProcess),
		Env:    env, Versions: versions(opt.ModuleRoot), Models: measured(labels, opt.Repeat),
		Format: results.FormatAnalysis, Families: map[string]string{},
	}
	if opt.searching() {
		run.Config.MaxOffered = top
	}
	for k, label := range run.Models {
		run.Families[label] = model.Family(models[k%len(models)])
	}
	maps.Copy(run.Versions, resolved.Versions) // interpreters and libraries the models declare
	if err := results.WriteRun(dir, run); err != nil {
		return dir, err
	}

	bins := make([]string, len(models))
	refused := make([]map[string]string, len(models))
	for i, m := range models {
		if bins[i], err = model.Build(ctx, m, opt.ModuleRoot, opt.BinDir); err != nil {
			return dir, err
		}
		if refused[i], err = model.Refused(m); err != nil {
			return dir, err
		}
	}

	var failed []string
	// The run's budget is counted from here (modelBudget).
	measuring := time.Now()
	for k, label := range run.Models {
		// Repeats go round the models (a, b, a, b...), so a change in the
		// machine over the run touches every model alike.
		i := k % len(opt.Specs)
		spec := opt.Specs[i]
		m := &measurement{
			opt: &opt, runRec: run,
			subject: subject{spec: spec, label: label, bin: bins[i], dir: dir, refused: refused[i]},
			sizing: sizing{perProcess: perProcess, modelCPUs: modelCPUs, swarmCPUs: swarmCPUs, top: top, topEnd: topEnd, topWhy: topWhy,
				budget: opt.modelBudget(time.Since(measuring), k, len(run.Models))},
		}
		sum, err := m.run(ctx)
		if sum != nil {
			if werr := results.WriteSummary(dir, sum); werr != nil {
				return dir, werr
			}
		}
		if ctx.Err() != nil {
			run.Outcome = "interrupted during " + label
			run.Finished = time.Now()
			return dir, errors.Join(ctx.Err(), results.WriteRun(dir, run))
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", label, err))
		}
	}
	run.Finished = time.Now()
	run.Outcome = "completed"
	if len(failed) > 0 {
		run.Outcome = fmt.Sprintf("completed; %d model(s) failed", len(failed))
	}
	if err := results.WriteRun(dir, run); err != nil {
		return dir, err
	}
	if len(failed) > 0 {
		return dir, fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return dir, nil
}

// measured is the labels of every measurement of the run, in order: the
// models themselves, or with --repeat each model's repeats, round robin.
func measured(labels []string, repeat int) []string {
	if repeat <= 1 {
		return labels
	}
	var out []string
	for r := 1; r <= repeat; r++ {
		for _, l := range labels {
			out = append(out, analysis.RepeatLabel(l, r))
		}
	}
	return out
}

// versions records the Go toolchain and every module the project requires.
// The runner's own build info would miss the models' libraries (gnet,
// netpoll, evio), so go.mod, from which the models are built, is read.
func versions(moduleRoot string) map[string]string {
	v := map[string]string{"go": runtime.Version()}
	b, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		return v
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			v[f[0]] = f[1]
		}
	}
	return v
}
