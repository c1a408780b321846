#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS, on one core, and prints what each found.
#   bash fuzz/run.sh SECONDS [TARGET...]     (default: every target in fuzz/Cargo.toml)
# cargo-fuzz drives libFuzzer with nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. The corpus grows in fuzz/corpus/TARGET (not committed), seeded from
# fuzz/seeds/TARGET; a failing input lands in fuzz/artifacts/TARGET/ and belongs, once fixed, in
# fuzz/regressions/TARGET/, which `cargo test --test fuzz_regressions` replays.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: bash fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' Cargo.toml | grep -v scanwatch-fuzz)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null || exit 1
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "regressions/$t"
    start=$(date +%s)
    cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"logs/$t.log" 2>&1
    status=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1)
    files=$(find "corpus/$t" -type f | wc -l)
    if [ $status -eq 0 ]; then verdict="nothing found"; else verdict="FAILED (exit $status): see fuzz/logs/$t.log and fuzz/artifacts/$t/"; fi
    printf '%-12s %5ss  %10s runs  %-9s corpus %5s  %s\n' "$t" "$took" "${runs:-?}" "$cov" "$files" "$verdict"
done
