# jukiterm — see README.md. `make run` and `make test` install what they need.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

STATE   ?= state
PERSONS ?= 100000
# Debian packages the build and tests need (cgo for SQLite; python3 for the contract check).
DEB_PACKAGES := gcc libc6-dev python3

.PHONY: all deps build run test vet bench fuzz contract clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing missing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v go >/dev/null || { echo "Go is missing: install Go 1.26 (/usr/local/go) first"; exit 1; }

build: deps
	go build -o bin/ ./cmd/jukitermd ./cmd/jukiterm

# Start the whole system on simulators with the demo data set, in the foreground.
run: build
	@if [ ! -f $(STATE)/jukiterm.conf ]; then bin/jukiterm init --state $(STATE); fi
	exec bin/jukitermd --config $(STATE)/jukiterm.conf --demo $(PERSONS)

vet: deps
	go vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

test: vet build
	go test -count=1 -timeout 20m ./...
	@if [ -f ../shared/acceptance/contract ]; then python3 ../shared/acceptance/contract; \
	else echo "contract check skipped: ../shared/acceptance/contract is not beside the checkout"; fi

# Micro-benchmarks, then the whole-pipeline figures (see docs/BENCHMARKS.md).
bench: build
	go test -run '^$$' -bench . -benchtime 2000x ./store/... ./hwsim/...
	bin/jukiterm bench ingest --persons $(PERSONS)
	bin/jukiterm bench search --persons $(PERSONS)

# A longer fuzzing pass over every parser (the seed corpora also run in `make test`).
FUZZTIME ?= 60s
fuzz:
	go test ./store/record -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./store/kana -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
