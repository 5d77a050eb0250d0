# c10klab: make bench · make test · make plots
GO       ?= go
BIN      := bin
C10KLAB  := $(BIN)/c10klab
# Extra flags for the run, e.g. make bench BENCH_FLAGS="--models epoll,goroutine --target 60000"
BENCH_FLAGS ?=

.PHONY: all build bench bench-scale test plots env deps clean

all: build

build:
	$(GO) build -o $(C10KLAB) ./runner

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
