# c10klab: make bench · make test · make plots
GO       ?= go
BIN      := bin
C10KLAB  := $(BIN)/c10klab
# Extra flags for the run, e.g. make bench BENCH_FLAGS="--models epoll,goroutine --target 60000"
BENCH_FLAGS ?=

.PHONY: all build k8s image bench bench-hostile bench-scale bench-work test plots env deps clean replay

all: build

build:
	$(GO) build -o $(C10KLAB) ./runner

# c10klab k8s runs this: a module of its own (runner/k8s), so the Kubernetes
# API modules stay out of c10klab's build.
k8s:
	cd runner/k8s && $(GO) build -o ../../$(BIN)/c10klab-k8s .
	cd runner/k8s && $(GO) test -count=1 .

# The image c10klab k8s names by default (c10klab:local): /c10klab and the
# Go and C models as static binaries at /models/<name>/run, on an empty
# base, written as a docker-save tarball for kind load image-archive, ctr
# images import or crane push (docs/scale-out.md). No daemon, no network.
# A module of its own (runner/image), so go-containerregistry stays out of
# c10klab's build. Same commit, same bytes: the times are the commit's.
IMAGE_TAR := $(BIN)/c10klab-image.tar
image:
	cd runner/image && $(GO) build -o ../../$(BIN)/c10klab-image .
	$(BIN)/c10klab-image --out $(IMAGE_TAR) --revision "$$(git describe --always --dirty 2>/dev/null)" \
		--epoch "$$(git log -1 --format=%ct 2>/dev/null || echo 0)"

# The comparison with the defaults: every model under models/, results in results/<run>/.
bench: deps build
	$(C10KLAB) bench $(BENCH_FLAGS)

# Hostile clients against every model: after a step of 2,000 connections,
# one step per kind (slow, nonreader, reset, halfclose, idle, churn) with
# 500 misbehaving connections beside the 2,000; about 40 s a model.
HOSTILE_FLAGS ?= --steps 2000 --hostile all --hold 3s
bench-hostile: deps build
	$(C10KLAB) bench $(HOSTILE_FLAGS) $(BENCH_FLAGS)

# Concurrency rather than message rate: epoll, gnet and goroutine to 1,000,000
# connections and on toward 2,000,000, a message per connection per minute
# (docs/scale-out.md has the arithmetic). Takes the whole machine for ~28 min
# (27 min 42 s on a fresh clone, 20261203: about 9 min a model, most of it
# the ramp toward 2M after the swarm has fallen behind).
bench-scale: deps build
	$(C10KLAB) bench --profile scale $(BENCH_FLAGS)

# The work behind each message: every model, and the remedy presets beside
# the models they fix, under four settings of the contract's C10K_WORK
# (none; 200 µs of CPU; a 50 ms non-blocking wait; a 5 ms blocking sleep
# in the handler), at a message a second, and the report's model × work
# matrix (REPORT.md, work.png). The settings part the models by orders of
# magnitude (a blocked event loop holds ~200, a CPU-bound one ~5,000), so
# the steps are decades and each measurement has 12 s of search: about 100
# measurements in 20 minutes.
WORK_PRESETS := epoll:pool py-asyncio:executor py-gevent:patched
WORK_MODELS := $(shell for d in models/*/; do m=$$(basename $$d); case $$m in (_*|internal) continue;; esac; \
	printf '%s,' $$m; for p in $(WORK_PRESETS); do case $$p in ($$m:*) printf '%s,' $$p;; esac; done; done | sed 's/,$$//')
WORK_FLAGS ?= --work 'none;cpu=200us;wait=50ms;block=5ms' --steps 200,2000,20000 --budget 12s --models $(WORK_MODELS)
bench-work: deps build
	$(C10KLAB) bench $(WORK_FLAGS) $(BENCH_FLAGS)

# The original experiment's own programs, replayed and explained (root, about 7 min):
# results/<time>-replay/REPLAY.md. e.g. make replay REPLAY_FLAGS="--threads 2000 --client-nofile 1024"
REPLAY_FLAGS ?=
replay: deps build
	$(C10KLAB) replay $(REPLAY_FLAGS)

# Redraw the charts, CSVs and REPORT.md of the latest run.
plots: build
	$(C10KLAB) plot

env: build
	$(C10KLAB) env

# Packages whose code runs goroutines or is called from them (the
# measurement loop, the swarm controller, the model's report readers, the
# probes, the timeline) are tested under the race detector, instead of
# plainly; the rest (charts, report, parsers) run no goroutines and would
# only pay -race's cost (plot and report: 16 s and 22 s against 1 s each).
# Their integration tests wait on the clock, not on the CPU, so -race
# costs them little: bench's whole run used 42 s of CPU in 246 s, and took
# 246 s under -race against 232 s plainly (20261203, 2 busy cores); they
# stay under the detector, which watches the measurement loop under real
# load.
RACE_PKGS := c10klab/runner/conformance c10klab/runner/internal/bench c10klab/runner/internal/cli \
	c10klab/runner/internal/guard c10klab/runner/internal/probe c10klab/runner/internal/results \
	c10klab/runner/internal/swarm
# The tests of those packages that draw a run's charts run plainly, by
# name: drawing runs no goroutines (render, plot), and -race only makes it
# slow (TestPlotMissingTimeline 13-25 s against 0.7 s, TestWorkRun 20 s
# against 11 s). PLAIN_IN_RACE_PKGS are the packages that hold them.
PLAIN_IN_RACE := ^(TestPlotMissingTimeline|TestWorkRun)$$
PLAIN_IN_RACE_PKGS := c10klab/runner/internal/bench c10klab/runner/internal/cli
# Fuzz targets, package:target, each fuzzed for FUZZTIME in `make test`
# beyond its committed seed corpus (testdata/fuzz), which every test run
# replays.
FUZZ_TARGETS := ./runner/internal/swarm:FuzzParseCommand ./runner/internal/results:FuzzDecodeTimeline
FUZZTIME ?= 5s

# Packages whose tests hold no load on loopback and no server for more
# than a moment (charts, report, parsers, the contract; model and launch
# start a child for a second): they run side by side (go test's default
# -p, one per CPU), so that one's link and another's run share the CPUs.
# A package not listed runs alone, the safe default for a new one.
LIGHT_PKGS := c10klab/contract c10klab/models/internal/modelkit c10klab/runner \
	c10klab/runner/internal/analysis c10klab/runner/internal/diagnose c10klab/runner/internal/imagelayout \
	c10klab/runner/internal/launch c10klab/runner/internal/live c10klab/runner/internal/model \
	c10klab/runner/internal/pin c10klab/runner/internal/plot c10klab/runner/internal/procfs \
	c10klab/runner/internal/procutil c10klab/runner/internal/render c10klab/runner/internal/report \
	c10klab/runner/internal/sysenv c10klab/runner/internal/units

# The other packages run one at a time (-p 1): their integration tests put
# real load on loopback, and two of them at once on 2 cores would measure
# each other.
# -trimpath: builds keyed by the module, not by the folder it was cloned
# into, so that a fresh clone (CI's) finds the compiled packages of any
# earlier clone in the build cache: compiling and linking every test
# binary of a fresh clone took 17 s, 10.6 s so (20261203). The tests
# read no source paths; the go builds they run inherit the flag.
test: export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m $(LIGHT_PKGS)
	$(GO) test -p 1 -count=1 -timeout 15m $(filter-out $(RACE_PKGS) $(LIGHT_PKGS),$(shell $(GO) list ./...))
	$(GO) test -race -p 1 -count=1 -timeout 15m -skip '$(PLAIN_IN_RACE)' $(RACE_PKGS)
	$(GO) test -p 1 -count=1 -timeout 15m -run '$(PLAIN_IN_RACE)' $(PLAIN_IN_RACE_PKGS)
	# The fuzzers and the two modules of their own hold no load: they run
	# side by side (14 s and 12 s one after another, 20261203), each into
	# a log of its own, shown when all have ended.
	# - The Kubernetes objects' module: their strict decode test.
	# - The image's module: builds the image twice, checks it and runs
	#   /c10klab and epoll from it: 7-17 s here once make image or an
	#   earlier run has filled the build cache for its static, -trimpath
	#   builds (which the other tests' builds do not share); about 80 s cold.
	@logs=$$(mktemp -d); pids=; \
	for t in $(FUZZ_TARGETS); do \
		n=$${t#*:}; echo "fuzz $$n ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$n$$" -fuzztime $(FUZZTIME) "$${t%%:*}" > $$logs/$$n 2>&1 & pids="$$pids $$!"; \
	done; \
	(cd runner/k8s && $(GO) test -count=1 .) > $$logs/k8s 2>&1 & pids="$$pids $$!"; \
	(cd runner/image && $(GO) vet . && $(GO) test -count=1 .) > $$logs/image 2>&1 & pids="$$pids $$!"; \
	fail=0; for p in $$pids; do wait $$p || fail=1; done; \
	for f in $$logs/*; do echo "== $${f##*/}"; cat $$f; done; rm -rf $$logs; exit $$fail

# What a fresh machine needs besides Go: ss (iproute2) for the conformance
# backlog check, the Debian packages the models declare ("deb NAME" lines of
# models/*/requires: Python and its libraries), chromium for the browser
# test of REPORT.html (runner/internal/render), and the modules. apt-get runs
# (after apt-get update) only when something is missing.
DEBS = iproute2 chromium $(sort $(shell awk '$$1 == "deb" { print $$2 }' models/*/requires 2>/dev/null))
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	$(GO) mod download

clean:
	rm -rf $(BIN)
