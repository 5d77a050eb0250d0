# c10klab: make bench · make test · make plots
GO       ?= go
BIN      := bin
C10KLAB  := $(BIN)/c10klab
# Extra flags for the run, e.g. make bench BENCH_FLAGS="--models epoll,goroutine --target 60000"
BENCH_FLAGS ?=

.PHONY: all build k8s bench bench-scale test plots env deps clean

all: build

build:
	$(GO) build -o $(C10KLAB) ./runner

# c10klab k8s runs this: a module of its own (runner/k8s), so the Kubernetes
# API modules stay out of c10klab's build.
k8s:
	cd runner/k8s && $(GO) build -o ../../$(BIN)/c10klab-k8s .
	cd runner/k8s && $(GO) test -count=1 .

# The comparison with the defaults: every model under models/, results in results/<run>/.
bench: deps build
	$(C10KLAB) bench $(BENCH_FLAGS)

# Concurrency rather than message rate: epoll, gnet and goroutine to 1,000,000
# connections and on toward 2,000,000, a message per connection per minute
# (docs/scale-out.md has the arithmetic). Takes the whole machine for ~15 min.
bench-scale: deps build
	$(C10KLAB) bench --profile scale $(BENCH_FLAGS)

# Redraw the charts, CSVs and REPORT.md of the latest run.
plots: build
	$(C10KLAB) plot

env: build
	$(C10KLAB) env

# Packages run one at a time (-p 1): the integration tests put real load on
# loopback, and two of them at once on 2 cores would measure each other.
test: deps
	$(GO) vet ./...
	$(GO) test -p 1 -count=1 -timeout 15m ./...

# What a fresh machine needs besides Go: ss (iproute2) for the conformance
# backlog check, and the modules.
deps:
	@command -v ss >/dev/null 2>&1 || { echo "installing iproute2 (ss)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
	$(GO) mod download

clean:
	rm -rf $(BIN)
