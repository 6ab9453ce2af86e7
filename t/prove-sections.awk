# Reads `prove -v --merge` output (kept whole in t/logs/prove.log).
# mode=progress (default): about what a plain prove shows: each file and its result, the tests'
# comments, failed assertions with Test.pm's got/expected.
# mode=failed: for each file that failed, every comment and failed assertion it wrote, so that
# the last lines CI shows name the cause, not only the test numbers.
function flush_section() {
    if (file != "" && failed) { printf "%s", buf; print "" }
    buf = ""; failed = 0
}
/^(Test Summary Report|All tests successful)/ { if (mode == "failed") flush_section(); file = ""; summary = 1 }
summary { if (mode != "failed") print; next }
/^t\/[^ ]+\.t \.\.+ *$/ {
    if (mode == "failed") { flush_section(); buf = "=== " $1 "\n" }
    file = $1; named = 0
    next
}
file == "" { next }
/^(ok|Failed [0-9]+\/[0-9]+ subtests|skipped:.*|No subtests run|Dubious.*) *$/ {
    if ($0 !~ /^ok/) failed = 1
    if (mode != "failed") print file " .. " $0
    next
}
/^# (Running under perl|Current time|Using (Apache\/)?Test)/ { next }
# Apache::TestUtil's t_cmp prints "testing/expected/received" before each result: kept only
# for an assertion that failed
# (with every further comment line up to the result: a value may span lines)
/^# testing :/ { collecting = 1 }
collecting && /^#/ { pend = pend $0 "\n"; next }
/^ok / { pend = ""; collecting = 0; next }
/^(not ok|#)/ {
    if ($0 ~ /^not ok/) { failed = 1; line = pend $0 "\n"; pend = ""; collecting = 0 }
    else line = $0 "\n"
    if (mode == "failed") buf = buf line
    else {
        if (!named) print file " .."
        named = 1
        gsub(/\n/, "\n    ", line)
        printf "    %s", substr(line, 1, length(line) - 4)
    }
    next
}
END { if (mode == "failed") flush_section() }
