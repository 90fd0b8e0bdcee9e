#!/bin/sh
# stats.sh: KVA_OPTIONS stats=1 prints the summary (kva_stats_print) once,
# at kva_fini or at exit, with the figures the issue asks for; the shim's
# malloc_stats() prints its size classes and the same totals mallinfo2()
# returns.
#   faultprog km-valid   stats=1, kva_fini: one summary, faults >= 1
#   faultprog km-exit    stats=1, no kva_fini: one summary at exit, with
#                        pageable pages
#   faultprog km-valid   stats=0: no summary
#   faultprog_shim stats malloc_stats() agrees with mallinfo2(); stats=1
#                        adds a summary at exit
# Runs natively only (make check-valgrind skips it).
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi
set -u
dir=${top_builddir:-.}/t
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail=0

bad() {
	echo "FAIL: $*"
	sed 's/^/    /' "$err"
	fail=1
}

has() { # case, then patterns that must appear in $err
	name=$1; shift
	for pat in "$@"; do
		grep -Eq -- "$pat" "$err" || { bad "$name: no \"$pat\""; return; }
	done
	echo "ok: $name"
}

count() { # pattern: how many lines of $err match
	grep -Ec -- "$1" "$err"
}

kva_lines='^kva: pages: [0-9]+ of [0-9]+ KiB
^kva: faults [0-9]+; zeroed allocations
^kva: paging: [0-9]+ pageins, [0-9]+ pageouts
^kva: host mappings: [0-9]+ now, [0-9]+ peak, limit [0-9]+$
^kva: host calls: [0-9]+, [0-9]+\.[0-9]{3} ms in all
^kva: warm runs: [0-9]+ kept; [0-9]+ kept in all, [0-9]+ moved back in
^kva: parked chunks: [0-9]+ now; [0-9]+ parked, [0-9]+ moved back, [0-9]+ kept warm; [0-9]+ swap I/Os'

KVA_OPTIONS=stats=1 "$dir/faultprog" km-valid >"$out" 2>"$err" ||
	bad "km-valid exited $?"
echo "$kva_lines" | while read -r pat; do
	grep -Eq -- "$pat" "$err" || { echo "FAIL: km-valid: no \"$pat\""; exit 1; }
done || fail=1
has "km-valid stats=1" '^kva: faults [1-9]' ' [0-9]+ wired ' ' [0-9]+ pageable '
[ "$(count '^kva: host calls:')" -eq 1 ] || bad "km-valid: not one summary"

KVA_OPTIONS=stats=1 "$dir/faultprog" km-exit >"$out" 2>"$err" ||
	bad "km-exit exited $?"
has "km-exit stats=1 (at exit)" ' [1-9][0-9]* pageable ' '^kva: host calls: [1-9]'
[ "$(count '^kva: host calls:')" -eq 1 ] || bad "km-exit: not one summary"

KVA_OPTIONS=stats=0 "$dir/faultprog" km-valid >"$out" 2>"$err"
[ "$(count '^kva: ')" -eq 0 ] && echo "ok: stats=0 prints nothing" ||
	bad "stats=0 printed"

KVA_OPTIONS=stats=1 "$dir/faultprog_shim" stats >"$out" 2>"$err" ||
	bad "shim stats exited $?"
has "shim malloc_stats" '^kvamalloc:   class +in use +cached +peak' \
	'^kvamalloc: +32 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ x 1$' '^kvamalloc: in use [0-9]+ bytes' \
	'^kvamalloc: large: 1 blocks, [0-9]+ bytes'
# malloc_stats at the call, and the summary at exit
[ "$(count '^kva: host calls:')" -eq 2 ] || bad "shim: not two summaries"
# malloc_stats() and mallinfo2() tell the same figures
inuse=$(sed -n 's/^kvamalloc: in use \([0-9]*\) bytes.*/\1/p' "$err" | head -1)
large=$(sed -n 's/^kvamalloc: large: \([0-9]*\) blocks, \([0-9]*\) bytes.*/\1 \2/p' \
    "$err" | head -1)
set -- $(tail -1 "$out")
if [ "${2:-}" = "$inuse" ] && [ "${6:-} ${4:-}" = "$large" ]; then
	echo "ok: mallinfo2 uordblks $2, hblks $6, hblkhd $4 agree with malloc_stats"
else
	bad "mallinfo2 ($(tail -1 "$out")) and malloc_stats (in use $inuse;" \
	    "large $large) disagree"
fi
exit $fail
