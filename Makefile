# crmsync — two commands do everything on a fresh machine with Go and gcc:
#   make demo   the samples through the in-process fake Mallcoo API into demo.db, report in reports/
#   make test   every test, under the race detector
GO      ?= go
BIN     := bin/crmsync
export CGO_ENABLED := 1

.PHONY: all build demo test bench fuzz vet clean templates samples

all: build

build:
	$(GO) build -o $(BIN) ./cmd/crmsync

# The demo exits 3 on purpose: the samples hold a few bad rows that need a
# person. Any other non-zero exit is a failure.
demo: build
	@./$(BIN) run -sandbox -ledger demo.db samples/ ; code=$$?; \
	if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then echo "make demo: crmsync exited $$code" >&2; exit $$code; fi; \
	echo "make demo: done (exit $$code: 0 all well, 3 some sample rows need a person, as intended). Reports are in reports/; run it again: nothing is sent twice."

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# Go benchmarks of each stage, then whole-command runs over generated data
# (bench/data, not committed); figures go in BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bench/run.sh

# Each fuzz target for FUZZTIME (not in CI): the CSV reader, the XLSX cell
# text, the amount, ID and list-cell parsers. New crashers land in
# testdata/fuzz/ and become regression tests of `make test`.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./importer -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./importer -run '^$$' -fuzz '^FuzzCleanID$$' -fuzztime $(FUZZTIME)
	$(GO) test ./importer -run '^$$' -fuzz '^FuzzNumberText$$' -fuzztime $(FUZZTIME)
	$(GO) test ./importer -run '^$$' -fuzz '^FuzzListCell$$' -fuzztime $(FUZZTIME)
	$(GO) test ./mallcoo -run '^$$' -fuzz '^FuzzParseAmount$$' -fuzztime $(FUZZTIME)

templates:
	$(GO) test ./report -run TestTemplatesCurrent -update

samples:
	$(GO) run ./internal/samplegen -out samples

clean:
	rm -rf bin reports demo.db demo.db-wal demo.db-shm demo.db.lock
