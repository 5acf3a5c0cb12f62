#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — a bounded fuzz run of every target, SECONDS each
# (default 60), with the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`).
#
# Each target starts from its committed seeds (fuzz/seeds/<target>/), the
# inputs it once crashed on (fuzz/regressions/<target>/) and matching files
# from the repository (playbooks, inventories, templates); what it finds new
# goes to fuzz/work/corpus/<target>/, which is git-ignored and kept between
# runs. A crash, panic, hang (-timeout) or memory blow-up (-rss_limit_mb) is
# copied to fuzz/regressions/<target>/, where tests/fuzz_regressions.rs runs
# it with plain `cargo test` from then on; the run goes on with the other
# targets and exits 1 at the end, naming what to fix.
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_TIMEOUT (seconds
# one input may take, default 25), FUZZ_MAX_LEN (bytes, default 16384).
set -euo pipefail

seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
targets=(${FUZZ_TARGETS:-playbook inventory_ini inventory_yaml template probe_output})
timeout=${FUZZ_TIMEOUT:-25}
max_len=${FUZZ_MAX_LEN:-16384}

# Without a sanitizer: tend is safe Rust, and what is looked for here
# (panics, overflows, stack exhaustion, hangs, unbounded memory) libFuzzer
# catches by itself, at about twice the speed of an ASan build.
fuzz=(cargo +nightly fuzz)
build_flags=(--sanitizer none)

# Files of the repository that are good first inputs for a target.
repo_seeds() {
    case $1 in
    playbook)
        find "$repo/tests/errors" "$repo/tests/playbooks" "$repo/tests/compat" \
            "$repo/tests/cli" "$repo/playbooks" "$repo/examples" \
            -type f \( -name '*.yml' -o -name '*.yaml' \) -not -path '*/.venv/*' ;;
    inventory_ini)
        find "$repo/tests" "$repo/playbooks" -type f -name '*.ini'
        find "$repo" "$repo/playbooks" -maxdepth 2 -type f -name 'inventory.example' ;;
    inventory_yaml)
        find "$repo/tests/cli" -type f -name 'inventory*.yml'
        find "$repo/tests/compat" -type f -path '*_vars/*' -name '*.yml' -not -path '*/.venv/*' ;;
    template)
        find "$repo/tests" "$repo/playbooks" -type f -name '*.j2' ;;
    esac
}

cd "$here"
echo "fuzz: building the targets (nightly, release, debug assertions)"
"${fuzz[@]}" build "${build_flags[@]}"

failed=()
for target in "${targets[@]}"; do
    corpus=$here/work/corpus/$target
    from_repo=$here/work/repo-seeds/$target
    artifacts=$here/work/artifacts/$target
    regressions=$here/regressions/$target
    log=$here/work/logs/$target.log
    rm -rf "$from_repo" "$artifacts"
    mkdir -p "$corpus" "$from_repo" "$artifacts" "$regressions" "$here/seeds/$target" \
        "$(dirname "$log")"
    while IFS= read -r file; do
        cp "$file" "$from_repo/$(echo "${file#"$repo"/}" | tr / _)"
    done < <(repo_seeds "$target")

    echo "fuzz: $target for ${seconds}s (log: ${log#"$repo"/})"
    status=0
    # The engine runs each host on a thread with Rust's default 2 MiB
    # stack, and templates and probe output are read there: the fuzzer's
    # stack is no larger, so that a recursion too deep for a host's thread
    # shows here.
    (
        ulimit -s 2048
        "${fuzz[@]}" run "${build_flags[@]}" "$target" \
            "$corpus" "$here/seeds/$target" "$regressions" "$from_repo" -- \
            -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
            -max_len="$max_len" -artifact_prefix="$artifacts/" -print_final_stats=1
    ) >"$log" 2>&1 || status=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    found=()
    for artifact in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* \
        "$artifacts"/leak-*; do
        [ -e "$artifact" ] || continue
        cp "$artifact" "$regressions/"
        found+=("${regressions#"$repo"/}/$(basename "$artifact")")
    done
    if [ "$status" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
        echo "fuzz: $target FAILED after ${execs:-?} runs (exit $status)"
        for f in "${found[@]}"; do
            echo "  kept as a regression input: $f"
        done
        tail -n 30 "$log" | sed 's/^/  | /'
        failed+=("$target")
    else
        echo "fuzz: $target ok, ${execs:-?} runs"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failures in: ${failed[*]}"
    echo "fuzz: fix them, minimise with 'cargo +nightly fuzz tmin -s none TARGET FILE' if needed,"
    echo "fuzz: and keep the inputs under fuzz/regressions/ (cargo test --test fuzz_regressions runs them)"
    exit 1
fi
echo "fuzz: all targets ok"
