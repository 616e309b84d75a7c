# cloud502: the two commands a fresh machine needs are `make demo` and `make test`.
# CI runs `bash .ci/run`, which runs `make test`.

CARGO ?= cargo
BIN := target/debug/cloud502

.PHONY: all setup build demo test bench check fmt clippy doc clean

all: build

## setup: install what the tests and the demo need (Debian's nginx-light), if missing.
setup:
	@bash scripts/setup.sh

## build: build the cloud502 binary (debug).
build:
	$(CARGO) build -p cloud502-cli

## demo: probe a real nginx in front of a dead upstream, then diagnose the bundled incident offline.
demo: setup build
	@bash scripts/demo.sh $(BIN)

## test: install test dependencies, build the binary the end-to-end tests run, run every test.
test: setup build
	$(CARGO) test --workspace

## bench: classify 1 GiB of generated nginx logs (release build) next to grep -c and rg -c;
## prints MB/s, peak RSS and ratios (BENCH_MIB=256 for a quicker run); then `cloud502 aws` on one
## target group against AWS CLI v1's equivalent calls on the same moto_server (BENCH_AWS=0 skips
## it); then `cloud502 audit` over fleets of 100/250/500 target groups on moto_server and an AWS CLI
## v1 loop doing the same core reads at 500 (BENCH_AUDIT=0 skips it; it takes many minutes).
## See docs/performance.md.
bench:
	@bash scripts/bench.sh

## check: formatting, clippy with -D warnings, then the tests.
check: fmt clippy test

fmt:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## doc: API documentation for the library crates.
doc:
	$(CARGO) doc --workspace --no-deps

clean:
	$(CARGO) clean
