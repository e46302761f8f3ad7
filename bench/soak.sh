#!/usr/bin/env bash
# The long soak (not in CI): TestSoak over many nights and several seeds,
# one seed after another, each in its own test process. A seed that fails
# keeps its folder (ledger, nights' files, reports, results CSVs) and the
# script goes on with the next; it exits 1 if any failed.
#
#   bench/soak.sh                         300 nights, seeds 1 to 5
#   NIGHTS=1000 SEEDS="7 8" bench/soak.sh
#
# TestSoak (go test ./cmd/crmsync -run TestSoak) plays 24 nights in CI.
set -uo pipefail
cd "$(dirname "$0")/.."
NIGHTS=${NIGHTS:-300}
SEEDS=${SEEDS:-"1 2 3 4 5"}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/crmsync.test" ./cmd/crmsync || exit 1
failed=0
for seed in $SEEDS; do
	start=$(date +%s)
	# The test builds the binary from its package folder.
	if (cd cmd/crmsync && "$bin/crmsync.test" -test.run '^TestSoak$' -test.v -test.timeout 0 \
		-soak.nights "$NIGHTS" -soak.seed "$seed" -soak.keep) >"$bin/out" 2>&1; then
		echo "seed $seed: ok, $(( $(date +%s) - start )) s: $(grep -o "seed $seed, .*" "$bin/out")"
	else
		failed=1
		echo "seed $seed: FAILED after $(( $(date +%s) - start )) s"
		grep -E 'soak_test.go:[0-9]+' "$bin/out" | head -20
	fi
done
exit $failed
