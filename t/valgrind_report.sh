#!/bin/sh
# valgrind_report.sh: memcheck understands kva's memory.  Runs t/vgprog
# under valgrind in each mode and checks the report:
#   uninit  an uninitialised-value error on uvm_km_alloc memory
#   uaf     an access inside a block freed by uvm_km_free, with its stack
#   leak    a uvm_km_alloc1 block "definitely lost", with its stack
#   clean   no error at all
# Skipped (exit 77) when valgrind is not installed.
# make check-valgrind runs the scripts again (they are not wrapped in
# valgrind); once, natively, is enough.
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi
set -u
command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed"; exit 77; }
prog=${top_builddir:-.}/t/vgprog
[ -x "$prog" ] || prog=./t/vgprog
vg="valgrind --vex-iropt-register-updates=allregs-at-mem-access --leak-check=full --show-leak-kinds=definite --num-callers=20"
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

check() { # mode, then patterns that must all appear
	mode=$1; shift
	$vg "$prog" "$mode" >"$out" 2>&1
	for pat in "$@"; do
		if ! grep -Eq -- "$pat" "$out"; then
			echo "FAIL: $mode: no \"$pat\" in the report:"
			sed 's/^/    /' "$out"
			fail=1
			return
		fi
	done
	echo "ok: $mode"
}

check uninit "Conditional jump or move depends on uninitialised value" \
	"ERROR SUMMARY: 1 errors"
# (an optimising build may tail-call from uvm_km_alloc1 into its body,
# km_alloc_wired: either name shows where the block came from)
check uaf "Invalid read of size 1" "inside a block of size 4,096 free'd" \
	"by 0x.*: uvm_km_free" "free_block"
check leak "12,288 bytes in 1 blocks are definitely lost" \
	"(at|by) 0x.*: (uvm_km_alloc1|km_alloc_wired)" "alloc_block"
check clean "ERROR SUMMARY: 0 errors"
exit $fail
