#!/usr/bin/env bash
# Whole-command benchmarks for crmsync (make bench): generates its data in
# bench/data (not committed), measures plan, run, reconcile, re-plan and
# re-run of large score files and a plan of an XLSX against their floors
# (bare encoding/csv, excelize Rows()), and the report against a bare
# excelize StreamWriter (BenchmarkWrite), and prints, from this one run, a
# Markdown table with each step's time, rows/s, peak RSS, the ledger's size
# after it, its ratio to the floor and the goal of issue 18 next to it.
#
#   bench/run.sh                      300,000 and 1,000,000 rows
#   SIZES="300000" bench/run.sh       only 300,000
#   SIZES=10000000 bench/run.sh       ten million (not in CI: ~1 GB of CSV, hours)
#   REPORT_ROWS=1000000 bench/run.sh  the report's rows for BenchmarkWrite (0: skip it)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"300000 1000000"}
XLSX_ROWS=${XLSX_ROWS:-200000}
REPORT_ROWS=${REPORT_ROWS:-1000000}
data=bench/data
mkdir -p "$data"
# Files and runs bigger than the defaults (2,000,000 rows a file) are read whole.
cfg=$data/bench.toml
printf 'max_rows_per_file = 20000000\nmax_rows_per_run = 20000000\n' >"$cfg"
go build -o bin/crmsync ./cmd/crmsync
go build -o bin/benchgen ./internal/benchgen

# measure LABEL ROWS CMD...: runs CMD under /usr/bin/time -v and sets SECS,
# CPU (user + system seconds: what a loaded machine changes least) and RSS
# (MB); a command that fails is reported, never measured as fast.
measure() {
	local label=$1 rows=$2; shift 2
	local log; log=$(mktemp)
	local code=0
	/usr/bin/time -v "$@" >"$log.json" 2>"$log" || code=$?
	SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
	RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
	CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$log")
	# Exit 3 is "some rows need a person": the benchmark files hold such rows on purpose.
	if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
		echo "bench: $label ($rows rows) exited $code:" >&2
		grep -v '^\s' "$log" | tail -5 >&2
		SECS=NaN
	fi
	# A file not read whole (too many rows, ...) would make a fast, wrong step.
	if grep -q '"problem_code"' "$log.json"; then
		echo "bench: $label ($rows rows): a file problem:" >&2
		grep '"problem"' "$log.json" | head -3 >&2
		SECS=NaN
	fi
	rm -f "$log" "$log.json"
}

# ledgerMB DB: the ledger's size on disk with its WAL.
ledgerMB() {
	{ du -cm "$1" "$1-wal" 2>/dev/null || true; } | awk 'END {print $1}'
}

# row LABEL ROWS FLOOR GOAL [LEDGER]: prints a table row of the last
# measure: the ratio to FLOOR seconds against GOAL (×; "" for none).
row() {
	local label=$1 rows=$2 floor=$3 goal=$4 db=${5:-}
	local size="" ratio="" verdict=""
	[ -n "$db" ] && size=$(ledgerMB "$db")
	if [ -n "$floor" ]; then
		ratio=$(awk "BEGIN {printf \"%.1f\", $SECS / $floor}")
		[ -n "$goal" ] && verdict=$(awk "BEGIN {print ($SECS / $floor <= $goal) ? \"yes\" : \"no\"}")
	fi
	printf '| %s | %s | %.2f | %s | %.0f | %s | %s | %s | %s | %s |\n' "$label" "$rows" "$SECS" "$CPU" "$(awk "BEGIN {print $rows / $SECS}")" \
		"$RSS" "$size" "$ratio" "${goal:+≤ $goal×}" "$verdict"
}

# The fake Mallcoo runs as its own process (crmsync mock), as the real API
# would: the run's peak RSS is then crmsync's alone.
# It accepts a repeated TransID, so the bare client posting the bodies the
# run sent gets the same answers (Code 1). It listens on a free port (PORT
# to choose one): a fixed port may be another mock's, which has seen these
# TransIDs and answers them 1001.
mocklog=$(mktemp)
bin/crmsync mock -accept-duplicates -addr "127.0.0.1:${PORT:-0}" 2>"$mocklog" &
mock=$!
trap 'kill $mock 2>/dev/null; rm -f "$mocklog"' EXIT
for _ in $(seq 100); do grep -q "fake Mallcoo API on" "$mocklog" && break; kill -0 $mock 2>/dev/null || break; sleep 0.1; done
addr=$(sed -n 's/.*fake Mallcoo API on \(http[^ ]*\).*/\1/p' "$mocklog" | head -1)
if [ -z "$addr" ]; then echo "bench/run.sh: crmsync mock did not start: $(cat "$mocklog")" >&2; exit 1; fi
export MALLCOO_BASE_URL=$addr MALLCOO_APP_ID=sandbox MALLCOO_PUBLIC_KEY=1ULYkA MALLCOO_PRIVATE_KEY=e14c4430ac63f427

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| step | rows | seconds | CPU s | rows/s | peak RSS MB | ledger MB after | ratio to floor | goal | met |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for n in $SIZES; do
	csv=$data/score-$n.csv
	[ -f "$csv" ] || bin/benchgen -rows "$n" -out "$csv"
	floor=$(bin/benchgen -floor "$csv" | awk '{print $4}')
	printf '| encoding/csv floor | %s | %.2f | | %.0f | | | 1.0 | | |\n' "$n" "$floor" "$(awk "BEGIN {print $n / $floor}")"
	db=$data/ledger-$n.db
	rm -f "$db" "$db-wal" "$db-shm" "$db.lock" "$data"/*-"$n"-results.csv
	bin/crmsync init -ledger "$db" 2>/dev/null
	measure "plan, empty ledger" "$n" bin/crmsync plan -json -config "$cfg" -ledger "$db" -report "$data/plan-$n.xlsx" "$csv"
	row "plan, empty ledger" "$n" "$floor" 15 "$db"
	plan_secs=$SECS
	measure "run" "$n" bin/crmsync run -json -config "$cfg" -concurrency 16 -ledger "$db" -report "$data/run-$n.xlsx" "$csv"
	row "run (concurrency 16, fake API in its own process)" "$n" "$floor" "" "$db"
	run_secs=$SECS
	# The floor of sending: a bare Go client (crmsync's transport, the same
	# concurrency, no ledger) posting the bodies of the file to the same
	# server; the run's events/s over the bare client's, goal ≥ 0.9. The send
	# stage alone is estimated as the run less the plan (read, diff, report).
	bare=$(bin/benchgen -bare "$csv" -concurrency 16 | awk '{print $4}')
	printf '| bare Go client floor (same bodies, concurrency 16, no ledger) | %s | %.2f | | %.0f | | | 1.0 | | |\n' "$n" "$bare" "$(awk "BEGIN {print $n / $bare}")"
	printf '| send vs the bare client: run, and send stage (run − plan) | %s | | | | | | %.2f, %.2f | ≥ 0.9 | %s |\n' "$n" \
		"$(awk "BEGIN {print $bare / $run_secs}")" "$(awk "BEGIN {d = $run_secs - $plan_secs; if (d <= 0) d = $run_secs; print $bare / d}")" \
		"$(awk "BEGIN {print ($bare / $run_secs >= 0.9) ? \"yes\" : \"no\"}")"
	measure "reconcile" "$n" bin/crmsync reconcile -json -config "$cfg" -ledger "$db" -report "$data/reconcile-$n.xlsx" "$csv"
	row "reconcile, ledger holds them" "$n" "$floor" 20 "$db"
	measure "re-plan" "$n" bin/crmsync plan -json -config "$cfg" -ledger "$db" -report "$data/replan-$n.xlsx" "$csv"
	row "plan, ledger holds them" "$n" "$floor" 20 "$db"
	measure "re-run" "$n" bin/crmsync run -json -config "$cfg" -ledger "$db" -report "$data/rerun-$n.xlsx" "$csv"
	row "re-run of a sent file (sends nothing)" "$n" "$floor" 20 "$db"
done

x=$data/score-$XLSX_ROWS.xlsx
[ -f "$x" ] || bin/benchgen -rows "$XLSX_ROWS" -xlsx -out "$x"
xfloor=$(bin/benchgen -xfloor "$x" | awk '{print $4}')
printf '| excelize Rows() floor (XLSX) | %s | %.2f | | %.0f | | | 1.0 | | |\n' "$XLSX_ROWS" "$xfloor" "$(awk "BEGIN {print $XLSX_ROWS / $xfloor}")"
rm -f "$data/x.db"*
bin/crmsync init -ledger "$data/x.db" 2>/dev/null
measure "plan of an XLSX" "$XLSX_ROWS" bin/crmsync plan -json -config "$cfg" -ledger "$data/x.db" -report "$data/xplan.xlsx" "$x"
row "plan of an XLSX" "$XLSX_ROWS" "$xfloor" 1.3 "$data/x.db"

# The report against a bare excelize StreamWriter writing the same cells,
# both in one benchmark iteration (BenchmarkWrite's ratio metric).
if [ "$REPORT_ROWS" != 0 ]; then
	line=$(CRMSYNC_BENCH_ROWS=$REPORT_ROWS go test ./report -run '^$' -bench '^BenchmarkWrite$' -benchtime 1x 2>/dev/null | grep '^BenchmarkWrite' || true)
	metric() { echo "$line" | awk -v m="$1" '{for (i = 2; i <= NF; i++) if ($i == m) print $(i-1)}'; }
	ratio=$(metric ratio)
	if [ -n "$ratio" ]; then
		secs=$(echo "$line" | awk '{printf "%.2f", $3 / 1e9}')
		printf '| report vs a bare StreamWriter (BenchmarkWrite, peak heap %s MB) | %s | %s | | %s | | | %.2f | ≤ 1.1× | %s |\n' \
			"$(metric peak-heap-MB)" "$REPORT_ROWS" "$secs" "$(metric rows/s)" "$ratio" "$(awk "BEGIN {print ($ratio <= 1.1) ? \"yes\" : \"no\"}")"
	else
		echo "bench: BenchmarkWrite rows=$REPORT_ROWS gave no ratio" >&2
	fi
fi
