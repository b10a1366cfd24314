#!/bin/sh
# tests/fuzz/run.sh NAME... - run the libFuzzer targets one after another
# (tests/fuzz/fuzz.mk builds them and sets the environment) and report:
#
#   ok    fuzz store: 1234567 execs in 300 s (4115/s), cov 812, ft 3011, corpus 245, 0 crashes
#   N passed, N failed
#
# One target at a time: a fuzzer takes a whole core.
#
# Environment: FUZZ_B (build dir), FUZZ_SECONDS (time per target, when
# FUZZ_RUNS is empty), FUZZ_RUNS (executions per target), FUZZ_MAX_SECONDS
# (a time cap with FUZZ_RUNS), FUZZ_MAX_LEN and FUZZ_MAX_LEN_NAME,
# FUZZ_TIMEOUT (seconds per input), FUZZ_ARGS and FUZZ_ARGS_NAME (more
# libFuzzer flags: for every target, for one).
set -u
cd "$(dirname "$0")/../.."
B="${FUZZ_B:-build-fuzz}"
passed=0; failed=0

# the value of "key: N" in libFuzzer's last status line or final stats
stat() { # log pattern
    grep -aE "$2" "$1" | tail -n 1
}

for t in "$@"; do
    bin="$B/fuzz_$t"; seed="$B/fuzz_${t}_seed"
    corpus="$B/corpus/$t"; art="$B/artifacts/$t"; log="$B/logs/$t.log"
    mkdir -p "$corpus" "$art" "$B/logs"
    if ! "$seed" --corpus "$corpus" >"$log" 2>&1; then
        echo "FAIL  fuzz $t: cannot write the seed corpus ($seed --corpus $corpus)"
        sed 's/^/    /' "$log" | tail -n 20
        failed=$((failed + 1)); continue
    fi
    dirs="$corpus"
    [ -d "tests/fuzz/regress/$t" ] && dirs="$dirs tests/fuzz/regress/$t"
    eval "maxlen=\${FUZZ_MAX_LEN_$t:-\${FUZZ_MAX_LEN:-10000}}"
    bound="-max_total_time=${FUZZ_SECONDS:-60}"
    if [ -n "${FUZZ_RUNS:-}" ]; then
        bound="-runs=$FUZZ_RUNS"
        [ -n "${FUZZ_MAX_SECONDS:-}" ] && bound="$bound -max_total_time=$FUZZ_MAX_SECONDS"
    fi
    eval "targs=\${FUZZ_ARGS_$t:-}"
    dict=""
    [ -f "tests/fuzz/fuzz_$t.dict" ] && dict="-dict=tests/fuzz/fuzz_$t.dict"
    before=$(ls "$art" | wc -l)
    start=$(date +%s)
    # shellcheck disable=SC2086 # the flags are word lists on purpose
    "$bin" $bound -max_len="$maxlen" -timeout="${FUZZ_TIMEOUT:-10}" -print_final_stats=1 \
        -artifact_prefix="$art/" $dict $targs ${FUZZ_ARGS:-} $dirs >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(stat "$log" '^stat::number_of_executed_units:' | awk '{print $2}')
    eps=$(stat "$log" '^stat::average_exec_per_sec:' | awk '{print $2}')
    # libFuzzer says 0 for a run under a second
    if [ "${eps:-0}" = 0 ] && [ -n "$execs" ]; then
        eps=$(( execs / (secs > 0 ? secs : 1) ))
    fi
    last=$(stat "$log" '^#[0-9]+.*cov: [0-9]+')
    cov=$(echo "$last" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
    ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
    corp=$(echo "$last" | sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p')
    crashes=$(( $(ls "$art" | wc -l) - before ))
    line="fuzz $t: ${execs:-?} execs in $secs s (${eps:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $crashes crashes"
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        echo "ok    $line"
        passed=$((passed + 1))
    else
        echo "FAIL  $line (exit $rc)"
        # the sanitizer's or the target's report, and where the input is
        grep -aE 'ERROR|SUMMARY|^fuzz_|: (check|bad|wrong)|Test unit written|^ +#[0-9]+ ' "$log" \
            | head -n 30 | sed 's/^/    /'
        newest=$(ls -t "$art" | head -n 1)
        [ -n "$newest" ] && echo "    replay: $seed $art/$newest" \
            "(then commit it to tests/fuzz/regress/$t/ under a name saying what it shows)"
        echo "    log: $log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
