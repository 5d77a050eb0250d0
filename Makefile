# c10klab: make bench · make test · make plots
GO       ?= go
BIN      := bin
C10KLAB  := $(BIN)/c10klab
# Extra flags for the run, e.g. make bench BENCH_FLAGS="--models epoll,goroutine --target 60000"
BENCH_FLAGS ?=

.PHONY: all build bench test plots env deps clean

all: build

build:
	$(GO) build -o $(C10KLAB) ./runner

# The comparison with the defaults: every model under models/, results in results/<run>/.
bench: deps build
	$(C10KLAB) bench $(BENCH_FLAGS)

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
# backlog check, the Debian packages the models declare ("deb NAME" lines of
# models/*/requires: Python and its libraries), and the modules. apt-get runs
# (after apt-get update) only when something is missing.
DEBS = iproute2 $(sort $(shell awk '$$1 == "deb" { print $$2 }' models/*/requires 2>/dev/null))
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	$(GO) mod download

clean:
	rm -rf $(BIN)
