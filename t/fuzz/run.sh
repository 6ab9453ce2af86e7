#!/bin/sh
# Run the libFuzzer harnesses built by `make fuzz`, one process at a time (the machine is shared).
#   sh t/fuzz/run.sh [target…]         default: every t/fuzz/build/fuzz_* binary
#   FUZZ_SECONDS=n                      seconds per harness (default 60)
# Each target starts from its committed seeds (t/fuzz/corpus/<target>/) in a scratch corpus
# t/fuzz/work/<target>/ that grows across runs, with t/fuzz/<target>.dict when there is one; crashes, leaks and timeouts are written to
# t/fuzz/work/artifacts/<target>-crash-… (reproduce: t/fuzz/build/fuzz_<target> <file>).
set -e
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
targets=$*
[ -n "$targets" ] || targets=$(ls t/fuzz/build/ | sed -n 's/^fuzz_//p')
mkdir -p t/fuzz/work/artifacts
status=0
for t in $targets; do
    bin=t/fuzz/build/fuzz_$t
    [ -x "$bin" ] || { echo "no $bin: run make fuzz" >&2; exit 2; }
    mkdir -p t/fuzz/work/$t
    [ -d t/fuzz/corpus/$t ] && cp -n t/fuzz/corpus/$t/* t/fuzz/work/$t/ 2>/dev/null || true
    dict=
    [ -f t/fuzz/$t.dict ] && dict=-dict=t/fuzz/$t.dict
    echo "== $t: $secs s"
    "$bin" $dict -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
        -artifact_prefix=t/fuzz/work/artifacts/$t- t/fuzz/work/$t 2>t/fuzz/work/$t.log || status=1
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|ERROR|SUMMARY' \
        t/fuzz/work/$t.log || true
done
exit $status
