# c10klab: make bench · make test · make plots
GO       ?= go
BIN      := bin
C10KLAB  := $(BIN)/c10klab
# Extra flags for the run, e.g. make bench BENCH_FLAGS="--models epoll,goroutine --target 60000"
BENCH_FLAGS ?=

.PHONY: all build bench test plots env deps clean replay

all: build

build:
	$(GO) build -o $(C10KLAB) ./runner

# The comparison with the defaults: every model under models/, results in results/<run>/.
bench: deps build
	$(C10KLAB) bench $(BENCH_FLAGS)

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
