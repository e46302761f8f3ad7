#!/usr/bin/env bash
# Whole-command benchmarks for crmsync (make bench): generates its data in
# bench/data (not committed), measures plan and run of large score files
# against the floors (bare encoding/csv, excelize Rows()), and prints a
# Markdown table with time, rows/s, peak RSS and the ratio to the floor.
#
#   bench/run.sh                 300,000 and 1,000,000 rows
#   SIZES="300000" bench/run.sh  only 300,000
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"300000 1000000"}
XLSX_ROWS=${XLSX_ROWS:-200000}
data=bench/data
mkdir -p "$data"
go build -o bin/crmsync ./cmd/crmsync
go build -o bin/benchgen ./internal/benchgen

# measure LABEL ROWS CMD...: runs CMD under /usr/bin/time -v, prints a row.
measure() {
	local label=$1 rows=$2; shift 2
	local log; log=$(mktemp)
	local rc=0
	/usr/bin/time -v "$@" >/dev/null 2>"$log" || rc=$?
	# exit 3 (rows that need a person) is a finished run; anything else is not
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then echo "bench/run.sh: $* exited $rc:" >&2; grep -v '^\s' "$log" | tail -3 >&2; fi
	local secs rss
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
	printf '| %s | %s | %.2f | %.0f | %s |' "$label" "$rows" "$secs" "$(awk "BEGIN {print $rows / $secs}")" "$rss"
	LAST_SECS=$secs
	rm -f "$log"
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

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| step | rows | seconds | rows/s | peak RSS MB | ratio to floor |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in $SIZES; do
	csv=$data/score-$n.csv
	[ -f "$csv" ] || bin/benchgen -rows "$n" -out "$csv"
	floor=$(bin/benchgen -floor "$csv" | awk '{print $4}')
	printf '| encoding/csv floor | %s | %.2f | %.0f | | 1.00 |\n' "$n" "$floor" "$(awk "BEGIN {print $n / $floor}")"
	db=$data/ledger-$n.db
	rm -f "$db" "$db-wal" "$db-shm" "$db.lock"
	bin/crmsync init -ledger "$db" >/dev/null 2>&1 # every command but init refuses a missing ledger
	measure "plan, empty ledger" "$n" bin/crmsync plan -json -ledger "$db" -report "$data/plan-$n.xlsx" "$csv"
	printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $floor}")"
	plan_secs=$LAST_SECS
	measure "run (concurrency 16, fake API in its own process)" "$n" bin/crmsync run -json -concurrency 16 -ledger "$db" -report "$data/run-$n.xlsx" "$csv"
	printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $floor}")"
	run_secs=$LAST_SECS
	# The floor of sending: a bare Go client (crmsync's transport, the same
	# concurrency, no ledger) posting the bodies of the file to the same
	# server; the run's events/s over its events/s, goal ≥ 0.9. The send
	# stage alone is estimated as the run less the plan (read, diff, report).
	bare=$(bin/benchgen -bare "$csv" -concurrency 16 | awk '{print $4}')
	printf '| bare Go client floor (same bodies, concurrency 16, no ledger) | %s | %.2f | %.0f | | run: %.2f, send stage (run − plan): %.2f of bare (goal ≥ 0.9) |\n' \
		"$n" "$bare" "$(awk "BEGIN {print $n / $bare}")" "$(awk "BEGIN {print $bare / $run_secs}")" "$(awk "BEGIN {d = $run_secs - $plan_secs; if (d <= 0) d = $run_secs; print $bare / d}")"
	measure "reconcile, ledger holds them" "$n" bin/crmsync reconcile -json -ledger "$db" -report "$data/reconcile-$n.xlsx" "$csv"
	printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $floor}")"
	measure "plan, ledger holds them" "$n" bin/crmsync plan -json -ledger "$db" -report "$data/replan-$n.xlsx" "$csv"
	printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $floor}")"
	measure "re-run of a sent file" "$n" bin/crmsync run -json -ledger "$db" -report "$data/rerun-$n.xlsx" "$csv"
	printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $floor}")"
done

x=$data/score-$XLSX_ROWS.xlsx
[ -f "$x" ] || bin/benchgen -rows "$XLSX_ROWS" -xlsx -out "$x"
xfloor=$(bin/benchgen -xfloor "$x" | awk '{print $4}')
printf '| excelize Rows() floor (XLSX) | %s | %.2f | %.0f | | 1.00 |\n' "$XLSX_ROWS" "$xfloor" "$(awk "BEGIN {print $XLSX_ROWS / $xfloor}")"
rm -f "$data/x.db"*
bin/crmsync init -ledger "$data/x.db" >/dev/null 2>&1
measure "plan of an XLSX" "$XLSX_ROWS" bin/crmsync plan -json -ledger "$data/x.db" -report "$data/xplan.xlsx" "$x"
printf ' %.1f |\n' "$(awk "BEGIN {print $LAST_SECS / $xfloor}")"
