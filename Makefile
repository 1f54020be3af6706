# jukiterm — see README.md. `make run` and `make test` install what they need.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

STATE   ?= state
PERSONS ?= 100000
# Debian packages the build and tests need (cgo for SQLite and libusb; python3 for the
# contract check; umockdev for the test of the real USB path; age, openssl, sqlite3 and
# tpm2-tools for the third-party verification by hand).
DEB_PACKAGES := gcc libc6-dev python3 systemd dpkg man-db softhsm2 swtpm swtpm-tools libssl-dev libusb-1.0-0-dev umockdev pkg-config age openssl sqlite3 tpm2-tools

VERSION ?= 0.1.0
ARCH    := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DESTDIR ?=
PKGDIR  := bin/pkg

.PHONY: all deps build run test vet bench fuzz contract clean install deb proto

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing missing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v go >/dev/null || { echo "Go is missing: install Go 1.26 (/usr/local/go) first"; exit 1; }

build: deps
	go build -ldflags "-X jukiterm/daemon/update.Version=$(VERSION)" -o bin/ ./cmd/jukitermd ./cmd/jukiterm

# Regenerate the link messages' Go code (committed) from daemon/link/linkpb/link.proto.
# Only this target needs protoc and protoc-gen-go; it installs them when missing.
PROTOC_GEN_GO_VERSION := v1.36.12
GOBIN := $(shell go env GOPATH)/bin
proto:
	@command -v protoc >/dev/null || { echo "installing protoc (protobuf-compiler)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler; }
	@$(GOBIN)/protoc-gen-go --version 2>/dev/null | grep -qx 'protoc-gen-go $(PROTOC_GEN_GO_VERSION)' || \
		go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH=$(GOBIN):$$PATH protoc --proto_path=. --go_out=. --go_opt=paths=source_relative daemon/link/linkpb/link.proto

# Start the whole system on simulators with the demo data set, in the foreground.
run: build
	@if [ ! -f $(STATE)/jukiterm.conf ]; then bin/jukiterm init --state $(STATE) --demo; fi
	@echo "Starting jukitermd on $(STATE) with $(PERSONS) synthetic demo residents; the hints follow once it serves."
	@exec bin/jukitermd --config $(STATE)/jukiterm.conf --demo $(PERSONS)

vet: deps
	go vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

# Every test writes jukitermd's log to TEST_LOGS; once all have run, one test scans it
# for personal values (docs/maintenance.md, Tests).
TEST_LOGS := $(CURDIR)/.test-logs

test: vet build
	rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	JUKITERM_TEST_LOGS=$(TEST_LOGS) go test -count=1 -timeout 20m -skip TestWholeRunLogHoldsNoPersonalValue ./...
	JUKITERM_TEST_LOGS=$(TEST_LOGS) go test -count=1 -run TestWholeRunLogHoldsNoPersonalValue ./cmd/jukiterm
	@if [ -f ../shared/acceptance/contract ]; then python3 ../shared/acceptance/contract; \
	else echo "contract check skipped: ../shared/acceptance/contract is not beside the checkout"; fi

# Micro-benchmarks, then the whole-pipeline figures (see docs/BENCHMARKS.md).
bench: build
	go test -run '^$$' -bench . -benchtime 2000x ./store/... ./hwsim/...
	bin/jukiterm bench ingest --persons $(PERSONS)
	bin/jukiterm bench search --persons $(PERSONS)
	bin/jukiterm bench oplog --entries $(PERSONS)

# A longer fuzzing pass over every parser (the seed corpora also run in `make test`).
FUZZTIME ?= 60s
fuzz:
	go test ./store/record -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./store/kana -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	go test ./devices/fingerprint -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./store -run '^$$' -fuzz FuzzOpenCheckpoint -fuzztime $(FUZZTIME)
	go test ./store -run '^$$' -fuzz FuzzParseCheckpoint -fuzztime $(FUZZTIME)
	go test ./daemon/provision -run '^$$' -fuzz FuzzParseRequest -fuzztime $(FUZZTIME)
	go test ./daemon/link -run '^$$' -fuzz FuzzRecv -fuzztime $(FUZZTIME)
	go test ./daemon/link -run '^$$' -fuzz FuzzParseFingerprint -fuzztime $(FUZZTIME)

# The packaged binaries leave the simulators out (-tags nohwsim).
$(PKGDIR)/jukitermd $(PKGDIR)/jukiterm: deps
	go build -tags nohwsim -ldflags '-s -w -X jukiterm/daemon/update.Version=$(VERSION)' -o $(PKGDIR)/ ./cmd/jukitermd ./cmd/jukiterm

# Install binaries, units, udev rules, man pages, completion, a default config, and the
# README with every document it and the man pages cite (/usr/share/doc/jukiterm).
install: $(PKGDIR)/jukitermd $(PKGDIR)/jukiterm
	install -D -m 0755 $(PKGDIR)/jukitermd $(DESTDIR)/usr/bin/jukitermd
	install -D -m 0755 $(PKGDIR)/jukiterm $(DESTDIR)/usr/bin/jukiterm
	install -D -m 0644 systemd/units/jukitermd.service $(DESTDIR)/usr/lib/systemd/system/jukitermd.service
	install -D -m 0644 systemd/units/jukitermd.socket $(DESTDIR)/usr/lib/systemd/system/jukitermd.socket
	install -D -m 0644 systemd/units/jukiterm.sysusers $(DESTDIR)/usr/lib/sysusers.d/jukiterm.conf
	install -D -m 0644 systemd/units/jukiterm.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/jukiterm.conf
	install -D -m 0644 systemd/units/70-jukiterm.rules $(DESTDIR)/usr/lib/udev/rules.d/70-jukiterm.rules
	install -D -m 0640 systemd/units/jukiterm.conf $(DESTDIR)/etc/jukiterm/jukiterm.conf
	for m in jukiterm.1:man1 jukiterm.conf.5:man5 jukitermd.8:man8; do \
		install -D -m 0644 docs/man/$${m%%:*} $(DESTDIR)/usr/share/man/$${m##*:}/$${m%%:*} && \
		gzip -9nf $(DESTDIR)/usr/share/man/$${m##*:}/$${m%%:*}; done
	install -d $(DESTDIR)/usr/share/bash-completion/completions
	$(PKGDIR)/jukiterm completion bash > $(DESTDIR)/usr/share/bash-completion/completions/jukiterm
	install -d $(DESTDIR)/usr/share/doc/jukiterm
	install -m 0644 README.md docs/*.md $(DESTDIR)/usr/share/doc/jukiterm/
	install -m 0755 docs/verify-by-hand.sh $(DESTDIR)/usr/share/doc/jukiterm/verify-by-hand.sh
	install -D -m 0644 -t $(DESTDIR)/usr/share/doc/jukiterm/verify-by-hand docs/verify-by-hand/go.mod docs/verify-by-hand/go.sum docs/verify-by-hand/main.go

# A Debian package built with dpkg-deb: bin/jukiterm_VERSION_ARCH.deb.
deb:
	rm -rf bin/deb && $(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/bin/deb
	install -d bin/deb/DEBIAN
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(ARCH)/' systemd/debian/control > bin/deb/DEBIAN/control
	install -m 0644 systemd/debian/conffiles bin/deb/DEBIAN/conffiles
	install -m 0755 systemd/debian/postinst systemd/debian/prerm systemd/debian/postrm bin/deb/DEBIAN/
	dpkg-deb --root-owner-group -Zxz --build bin/deb bin/jukiterm_$(VERSION)_$(ARCH).deb

clean:
	rm -rf bin $(TEST_LOGS)
