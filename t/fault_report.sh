#!/bin/sh
# fault_report.sh: the one-line report of a fault kva cannot resolve, and
# with KVA_OPTIONS debug=1 the stacks that freed and allocated the memory
# (lib/pmap_posix/trap.c, stack.c).  Each case runs a program that faults
# on purpose and checks its stderr:
#   km-uaf           "freed", "freed at" naming faultprog_free_here and
#                    "allocated at" naming faultprog_alloc_here
#   km-uaf, debug=0  the line only, no stacks
#   km-valid         a resolved fault: no report, exit 0
#   shim guard       "guard page of block 0x... (size 300000)"
#   shim uaf         "freed block" (parked, and with park=0 quarantined),
#                    "freed at" naming
#                    faultprog_shim_free_here
# Runs natively only (make check-valgrind skips it).
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi
set -u
dir=${top_builddir:-.}/t
err=$(mktemp)
trap 'rm -f "$err"' EXIT
fail=0

run() { # options, program, mode: stderr into $err, status into $st
	KVA_OPTIONS=$1 "$dir/$2" "$3" >/dev/null 2>"$err"
	st=$?
}

expect() { # case name, then patterns that must appear in $err
	name=$1; shift
	for pat in "$@"; do
		if ! grep -Eq -- "$pat" "$err"; then
			echo "FAIL: $name: no \"$pat\" in stderr:"
			sed 's/^/    /' "$err"
			fail=1
			return
		fi
	done
	echo "ok: $name"
}

refuse() { # case name, then patterns that must not appear
	name=$1; shift
	for pat in "$@"; do
		if grep -Eq -- "$pat" "$err"; then
			echo "FAIL: $name: \"$pat\" in stderr:"
			sed 's/^/    /' "$err"
			fail=1
			return
		fi
	done
	echo "ok: $name"
}

run debug=1 faultprog km-uaf
[ $st -ne 0 ] || { echo "FAIL: km-uaf exited 0"; fail=1; }
expect "km-uaf debug=1" \
	'^kva: fault at 0x[0-9a-f]+ \(read\) in kernel_map: freed$' \
	'^kva: freed at:$' 'faultprog_free_here' \
	'^kva: allocated at:$' 'faultprog_alloc_here'
# the free stack comes first and names the freeing function
if [ $fail -eq 0 ] && ! sed -n '/^kva: freed at:/,/^kva: allocated at:/p' \
    "$err" | grep -q faultprog_free_here; then
	echo "FAIL: faultprog_free_here is not under \"freed at\""
	fail=1
fi

run debug=0 faultprog km-uaf
expect "km-uaf debug=0" 'in kernel_map: freed$'
refuse "km-uaf debug=0 has no stacks" 'freed at' 'allocated at'

run debug=1 faultprog km-valid
[ $st -eq 0 ] || { echo "FAIL: km-valid exited $st"; fail=1; }
refuse "km-valid" 'kva: fault'

run debug=0 faultprog_shim guard
[ $st -ne 0 ] || { echo "FAIL: shim guard exited 0"; fail=1; }
expect "shim guard" \
	'^kva: fault at 0x[0-9a-f]+ \(write\) in kmem_map: guard page of block 0x[0-9a-f]+ \(size 300000\)$'

run debug=1 faultprog_shim uaf
[ $st -ne 0 ] || { echo "FAIL: shim uaf exited 0"; fail=1; }
expect "shim uaf debug=1" \
	'in kmem_map: freed block 0x[0-9a-f]+ \(size 300000\)$' \
	'^kva: freed at:$' 'faultprog_shim_free_here' '^kva: allocated at:$'

# the freed block is parked (mapped, inaccessible) by default; with
# park=0 it is unmapped and its VA quarantined: the same report
run park=0 faultprog_shim uaf
[ $st -ne 0 ] || { echo "FAIL: shim uaf park=0 exited 0"; fail=1; }
expect "shim uaf park=0" \
	'in kmem_map: freed block 0x[0-9a-f]+ \(size 300000\)$'

exit $fail
