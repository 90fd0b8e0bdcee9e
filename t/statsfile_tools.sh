#!/bin/sh
# statsfile_tools.sh: kvastat and kvahist against live processes.
#   - t/sfprog (known activity, every history on) while it waits on a
#     pipe: kvastat shows its counters (its own count of faults), maps
#     and entries; kvahist shows its marker entry and uvm_km_alloc1's;
#     kvastat with no PID lists it; -w prints interval lines; kvahist -f
#     follows and ends with the process;
#   - a forked child has a file of its own, and kvastat reads it;
#   - a file of another uid is refused (as root: a chown'd copy, and the
#     live file chown'd for a moment; skipped otherwise);
#   - the file is gone after the process ends; a stale file of a dead
#     process is removed by kvastat's listing;
#   - statsfile=0 makes no file; a program on the malloc shim shows its
#     size classes.
# The tools only read files, so one native run is enough: skipped under
# make check-valgrind.
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi
set -u
top=${top_builddir:-.}
prog=$top/t/sfprog
kvastat=$top/tools/kvastat
kvahist=$top/tools/kvahist
tmp=$(mktemp -d)
fail=0
trap 'exec 3>&- 4>&- 2>/dev/null; rm -rf "$tmp"' EXIT

no() { echo "FAIL: $*"; fail=1; }
has() { # file, pattern, what
	grep -Eq -- "$2" "$1" || { no "$3: no \"$2\" in:"; sed 's/^/    /' "$1"; }
}

uid=$(id -u)
dir=/tmp/kva-$uid
if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -d "$XDG_RUNTIME_DIR/kva-$uid" ]; then
	dir=$XDG_RUNTIME_DIR/kva-$uid
fi

# wait_line FILE PATTERN: until FILE has a line matching PATTERN (10 s)
wait_line() {
	i=0
	while ! grep -Eq "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# 1. a live process with known activity
mkfifo "$tmp/in"
"$prog" fork <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
ppid_=$!
exec 3>"$tmp/in"
if ! wait_line "$tmp/out" '^pid [0-9]+ faults' ||
    ! wait_line "$tmp/out" '^child [0-9]+'; then
	echo "FAIL: sfprog did not start: $(cat "$tmp/err")"
	exit 1
fi
pid=$(sed -n 's/^pid \([0-9]*\) .*/\1/p' "$tmp/out")
faults=$(sed -n 's/^pid [0-9]* faults \([0-9]*\)/\1/p' "$tmp/out")
child=$(sed -n 's/^child \([0-9]*\)/\1/p' "$tmp/out")
[ "$pid" = "$ppid_" ] || no "sfprog printed pid $pid, the shell started $ppid_"

[ -f "$dir/$pid" ] || no "no statistics file $dir/$pid"
case $(stat -c %a "$dir") in 700) ;; *) no "$dir is mode $(stat -c %a "$dir"), not 700";; esac
case $(stat -c %a "$dir/$pid") in 600) ;; *) no "$dir/$pid is mode $(stat -c %a "$dir/$pid"), not 600";; esac

"$kvastat" "$pid" >"$tmp/stat" 2>&1 || no "kvastat $pid failed"
has "$tmp/stat" "kva process $pid \\(sfprog\\)" "kvastat header"
has "$tmp/stat" "^ +$faults page faults$" "kvastat faults (sfprog counted $faults)"
has "$tmp/stat" "^ +16384 pages managed$" "kvastat physmem=64M"
has "$tmp/stat" "^kernel_map " "kvastat maps"
has "$tmp/stat" "^  kmem_map " "kvastat submap"
has "$tmp/stat" "no malloc shim" "kvastat shim section"

"$kvastat" -m "$pid" >"$tmp/map" 2>&1 || no "kvastat -m $pid failed"
has "$tmp/map" "^kernel_map 0x" "kvastat -m header"
has "$tmp/map" " 96 KiB rwx/rwx kernel_object +wired +24 resident pages" "kvastat -m wired entry"
has "$tmp/map" "submap kmem_map: 1 entries, 160 KiB allocated" "kvastat -m submap"
has "$tmp/map" "^    0x[0-9a-f]+-0x[0-9a-f]+ +160 KiB rwx/rwx kernel_object +pageable +[1-9][0-9]* resident pages" "kvastat -m pageable entry"

"$kvahist" "$pid" maphist >"$tmp/hist" 2>&1 || no "kvahist $pid failed"
has "$tmp/hist" "sfprog_main: sfprog marker 4242 0xbeef$" "kvahist marker"
has "$tmp/hist" "uvm_km_alloc1: <- done \\(kva=0x[0-9a-f]+\\)" "kvahist uvm_km_alloc1"
"$kvahist" "$pid" >"$tmp/hall" 2>&1 || no "kvahist $pid (all on) failed"
has "$tmp/hall" "^faulthist .*uvm_fault: \\(map=" "kvahist faulthist"
has "$tmp/hall" "^pmaphist .*pmap_enter: \\(va=0x" "kvahist pmaphist"
# -f: prints what is there, follows, and ends when the process does
"$kvahist" -f "$pid" maphist >"$tmp/follow" 2>&1 3>&- &
follow=$!
"$kvahist" "$pid" nosuchhist >"$tmp/hbad" 2>&1 && no "kvahist accepted an unknown history"
has "$tmp/hbad" "no history named \"nosuchhist\"" "kvahist unknown history"

"$kvastat" >"$tmp/list" 2>&1 || no "kvastat (list) failed"
has "$tmp/list" "^ +$pid sfprog " "kvastat list"
"$kvastat" -w 0.1 -c 2 "$pid" >"$tmp/watch" 2>&1 || no "kvastat -w failed"
[ "$(grep -Ec '^ +[0-9]+ +[0-9]+ ' "$tmp/watch")" = 2 ] || { no "kvastat -w: not 2 lines:"; cat "$tmp/watch"; }

# 2. the forked child's own file
[ -f "$dir/$child" ] || no "the forked child $child has no file of its own"
"$kvastat" "$child" >"$tmp/cstat" 2>&1 || no "kvastat $child (child) failed"
has "$tmp/cstat" "kva process $child \\(sfprog\\)" "kvastat of the child"
"$kvahist" "$child" maphist >"$tmp/chist" 2>&1
has "$tmp/chist" "sfprog marker 4242" "the child's copy of the rings"

# 3. another uid's file is refused
if [ "$uid" = 0 ] && command -v chown >/dev/null; then
	mkdir "$tmp/other"
	cp "$dir/$pid" "$tmp/other/copy"
	"$kvastat" "$tmp/other/copy" >"$tmp/own" 2>&1 || no "kvastat refused a copy of our own file"
	chown 65534 "$tmp/other/copy"
	"$kvastat" "$tmp/other/copy" >"$tmp/ref" 2>&1 && no "kvastat read a file of uid 65534"
	has "$tmp/ref" "belongs to uid 65534, not to you \\(uid 0\\): refused" "kvastat refusal"
	"$kvahist" "$tmp/other/copy" >"$tmp/ref2" 2>&1 && no "kvahist read a file of uid 65534"
	has "$tmp/ref2" "refused" "kvahist refusal"
	chown 65534 "$dir/$pid"
	"$kvastat" "$pid" >"$tmp/ref3" 2>&1 && no "kvastat read the live file of uid 65534"
	chown 0 "$dir/$pid"
	has "$tmp/ref3" "refused" "kvastat refusal of the live file"
else
	echo "skip: the other-uid test needs root to chown a file (uid $uid)"
fi

# 4. gone at exit; stale files cleaned
exec 3>&-
wait "$ppid_" || no "sfprog exited with $?"
i=0
while kill -0 "$follow" 2>/dev/null && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
if kill -0 "$follow" 2>/dev/null; then
	no "kvahist -f still runs 5 s after the process ended"
	kill "$follow"
fi
has "$tmp/follow" "sfprog_main: sfprog marker 4242 0xbeef$" "kvahist -f marker"
[ -e "$dir/$pid" ] && no "$dir/$pid is still there after the process ended"
[ -e "$dir/$child" ] && no "$dir/$child (child) is still there after it ended"
"$kvastat" "$pid" >"$tmp/gone" 2>&1 && no "kvastat read a process that is gone"
sh -c 'exit 0' & dead=$!
wait $dead
cp "$tmp/other/copy" "$dir/$dead" 2>/dev/null || : >"$dir/$dead"
chown "$uid" "$dir/$dead" 2>/dev/null
"$kvastat" >/dev/null 2>&1
[ -e "$dir/$dead" ] && { no "kvastat left the stale file of dead pid $dead"; rm -f "$dir/$dead"; }

# 5. statsfile=0, and the shim
KVA_OPTIONS=statsfile=0 "$top/tools/kvarun" -- sh -c 'ls "$1" > "$2"; ls "$1" | grep -qx $$ && exit 1; exit 0' sh "$dir" "$tmp/ls" \
	|| no "statsfile=0 made a file"
exec 4>"$tmp/in2" 2>/dev/null || true
rm -f "$tmp/in2"; mkfifo "$tmp/in2"
"$top/tools/kvarun" -- sh -c 'echo $$; cat >/dev/null' <"$tmp/in2" >"$tmp/shout" &
shp=$!
exec 4>"$tmp/in2"
wait_line "$tmp/shout" '^[0-9]+$' || no "the shim program did not start"
spid=$(head -1 "$tmp/shout")
sleep 0.3		# a publication (every 100 ms) after the shim is up
"$kvastat" "$spid" >"$tmp/shim" 2>&1 || no "kvastat of a shim process failed"
has "$tmp/shim" "^malloc shim size classes:" "kvastat shim classes"
has "$tmp/shim" "^small: [0-9]+ bytes in use" "kvastat shim totals"
has "$tmp/shim" "^large: parked [0-9]+ blocks, [0-9]+ bytes, slack [0-9]+ bytes" "kvastat parked large blocks"
exec 4>&-
wait "$shp"

[ $fail = 0 ] && echo "kvastat and kvahist: all checks passed"
exit $fail
