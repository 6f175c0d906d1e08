# tuyensinh: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/tuyensinh
PGHOST ?= 127.0.0.1
PGPORT ?= 5432
DB ?= tuyensinh
DATABASE_URL ?= postgres://postgres@$(PGHOST):$(PGPORT)/$(DB)?sslmode=disable
REDIS_HOST ?= 127.0.0.1
REDIS_PORT ?= 6379
REDIS_URL ?= redis://$(REDIS_HOST):$(REDIS_PORT)/0
HTTP_ADDR ?= :8080
export DATABASE_URL REDIS_URL HTTP_ADDR PGHOST PGPORT REDIS_HOST REDIS_PORT

SERVE_PIDFILE := bin/serve.pid
export SERVE_PIDFILE BIN

.PHONY: run stop build services test lint bench fuzz faults clean

build:
	$(GO) build -o $(BIN) ./cmd/tuyensinh

services:
	./scripts/services.sh $(DB)

# Start PostgreSQL and Redis if needed, migrate, load the demo city, serve on :8080.
# APPLICATIONS=N also stores N generated applications to review and place (make run APPLICATIONS=30000).
run: build services
	$(BIN) migrate
	$(BIN) seed --demo $(if $(APPLICATIONS),--applications $(APPLICATIONS))
	echo $$$$ > $(SERVE_PIDFILE); LOG_FORMAT=text METRICS_ADDR=$${METRICS_ADDR:-127.0.0.1:9091} exec $(BIN) serve

# Stop what make run started: the serve process (its pid in bin/serve.pid),
# and PostgreSQL and Redis if scripts/services.sh started them itself (their
# data under $TUYENSINH_DATA); servers it found running are left alone.
stop:
	./scripts/stop.sh

# Every test against the real PostgreSQL and Redis (started if needed),
# the browser tests in Debian's Chromium (installed if needed).
test:
	TUYENSINH_BROWSER=1 ./scripts/services.sh
	TUYENSINH_TEST_REQUIRE_SERVICES=1 \
	TUYENSINH_TEST_DATABASE_URL="postgres://postgres@$(PGHOST):$(PGPORT)/postgres?sslmode=disable" \
	TUYENSINH_TEST_REDIS_URL="$(REDIS_URL)" \
	$(GO) test -race -count=1 -timeout 20m ./...

# The fault suite: kill -9, stalls and outages of the real binaries,
# PostgreSQL and Redis (servers of its own where a scenario stops them),
# one table line per scenario, also kept in loadtest/out/faults.md.
faults:
	./scripts/services.sh
	TUYENSINH_TEST_REQUIRE_SERVICES=1 \
	TUYENSINH_TEST_DATABASE_URL="postgres://postgres@$(PGHOST):$(PGPORT)/postgres?sslmode=disable" \
	TUYENSINH_TEST_REDIS_URL="$(REDIS_URL)" \
	$(GO) test -tags faults -count=1 -run TestFault -timeout 40m -v ./cmd/tuyensinh/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Run every fuzz target of the module for FUZZTIME each (default 5s), one
# at a time (scripts/fuzz.sh). Their seed corpora already run in make test.
FUZZTIME ?= 5s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Measure the intake on this machine and print one table (scripts/bench.sh;
# BENCH_QUICK=1 for a short run). Fails only on lost or duplicate
# registrations and errored requests, not on missed targets.
bench:
	./scripts/bench.sh

clean:
	rm -rf bin
