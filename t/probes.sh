#!/bin/sh
# probes.sh: every USDT probe of kva that the library places fires under
# perf record (lib/kva_sdt.h).  t/faultprog km-valid (libkva: a valloc'd
# range touched and freed) fires fault, fault_done, km_alloc, km_free,
# page_alloc and page_free; t/faultprog_shim large (the shim) fires
# large_alloc and large_free; t/faultprog km-page with physmem=16M (64
# MiB through 16) fires pageout and pagein.
#
# Skipped (exit 77), with the reason, when perf is missing or not
# permitted, when the library was built without <sys/sdt.h>, or when perf
# cannot define probes (tracefs); natively only (not under valgrind).
# The probes it defines are deleted again at the end.
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi
set -u
dir=${top_builddir:-.}
tmp=$(mktemp -d)
defined=
cleanup() {
	for e in $defined; do
		perf probe -q -d "$e" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

skip() {
	echo "skipped: $*"
	exit 77
}

command -v perf >/dev/null 2>&1 || skip "perf is not installed (linux-perf)"
command -v readelf >/dev/null 2>&1 || skip "readelf is not installed"
perf record -q -e cpu-clock -o "$tmp/check.data" -- true >"$tmp/log" 2>&1 ||
	skip "perf is not permitted here (kernel.perf_event_paranoid is" \
	    "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null)):" \
	    "$(head -1 "$tmp/log")"

libkva=$(readlink -f "$dir/lib/.libs/libkva.so.0")
libshim=$(readlink -f "$dir/lib/.libs/libkvamalloc.so")
[ -f "$libkva" ] && [ -f "$libshim" ] || skip "libraries not built"
readelf -n "$libkva" | grep -q stapsdt ||
	skip "the library has no probes (built without <sys/sdt.h>)"
export LD_LIBRARY_PATH="$dir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

fail=0
check() { # library, probe, program, mode
	lib=$1 probe=$2 prog=$3 mode=$4
	if ! readelf -n "$lib" | grep -q "Name: $probe\$"; then
		echo "FAIL: $probe: no such probe in $lib"
		fail=1
		return
	fi
	perf probe -q -d "sdt_kva:$probe" >/dev/null 2>&1
	perf buildid-cache --add "$lib" >/dev/null 2>&1
	if ! perf probe -q -x "$lib" -a "sdt_kva:$probe" >"$tmp/log" 2>&1; then
		skip "perf cannot define probes here: $(head -1 "$tmp/log")"
	fi
	defined="$defined sdt_kva:$probe"
	perf record -q -e "sdt_kva:$probe" -o "$tmp/$probe.data" -- \
	    "$dir/t/$prog" "$mode" >/dev/null 2>"$tmp/log"
	n=$(perf script -i "$tmp/$probe.data" 2>/dev/null |
	    grep -c "sdt_kva:$probe:")
	perf probe -q -d "sdt_kva:$probe" >/dev/null 2>&1
	if [ "$n" -gt 0 ]; then
		echo "ok: $probe fired $n times"
	else
		echo "FAIL: $probe: no event recorded"
		sed 's/^/    /' "$tmp/log"
		fail=1
	fi
}

for p in fault fault_done km_alloc km_free page_alloc page_free; do
	check "$libkva" $p faultprog km-valid
done
for p in large_alloc large_free; do
	check "$libshim" $p faultprog_shim large
done
for p in pageout pagein; do
	KVA_OPTIONS=physmem=16M check "$libkva" $p faultprog km-page
done
exit $fail
