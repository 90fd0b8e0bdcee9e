#!/bin/sh
# shim_programs.sh: run real programs on libkvamalloc.so (tools/kvarun) and
# compare their output and exit status with the same run on glibc's
# malloc: python3 (dicts, lists, strings, threads), perl, sqlite3, git,
# gcc, and bash with pipes, subshells and command substitutions.
#
# A program that is not installed is skipped; the test is skipped (77)
# only when none is.  Run from the build directory (make check does);
# KVAMALLOC_LIB may name the library.
# make check-valgrind runs the scripts again (they are not wrapped in
# valgrind); once, natively, is enough.
if [ -n "${VALGRIND:-}" ]; then
	echo "skipped under make check-valgrind: make check runs it"
	exit 77
fi

srcdir=${srcdir:-$(dirname "$0")/..}
kvarun="$(cd "$srcdir" && pwd)/tools/kvarun"
: "${KVAMALLOC_LIB:=$(pwd)/lib/.libs/libkvamalloc.so}"
export KVAMALLOC_LIB
if [ ! -f "$KVAMALLOC_LIB" ]; then
	echo "shim_programs: $KVAMALLOC_LIB not built" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shimprog.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
ran=0 failed=0 skipped=""

# compare NAME: run "$tmp/NAME.sh" in a fresh directory on glibc and on
# the shim; stdout and status must be equal.
compare() {
	name=$1
	for how in glibc kva; do
		t0=$(date +%s%N)
		mkdir -p "$tmp/$name.$how.d"
		if [ $how = glibc ]; then
			(cd "$tmp/$name.$how.d" && sh "$tmp/$name.sh") \
			    >"$tmp/$name.$how.out" 2>"$tmp/$name.$how.err"
		else
			(cd "$tmp/$name.$how.d" && "$kvarun" -- sh "$tmp/$name.sh") \
			    >"$tmp/$name.$how.out" 2>"$tmp/$name.$how.err"
		fi
		echo $? >"$tmp/$name.$how.rc"
		eval "ms_$how=\$(( ($(date +%s%N) - t0) / 1000000 ))"
	done
	ran=$((ran + 1))
	if cmp -s "$tmp/$name.glibc.out" "$tmp/$name.kva.out" &&
	    cmp -s "$tmp/$name.glibc.rc" "$tmp/$name.kva.rc" &&
	    [ -s "$tmp/$name.glibc.out" ]; then
		echo "PASS: $name ($(wc -l <"$tmp/$name.kva.out") lines;" \
		    "$ms_glibc ms on glibc, $ms_kva ms on kvamalloc)"
	else
		failed=$((failed + 1))
		echo "FAIL: $name: status glibc $(cat "$tmp/$name.glibc.rc")," \
		    "kvamalloc $(cat "$tmp/$name.kva.rc")"
		diff "$tmp/$name.glibc.out" "$tmp/$name.kva.out" | head -10
		echo "--- stderr on kvamalloc:"
		head -10 "$tmp/$name.kva.err"
	fi
}

have() {
	if command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	skipped="$skipped $1"
	return 1
}

# python3: the interpreter itself, not a wrapper script (pyenv)
if have python3; then
	py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	cat >"$tmp/python3.sh" <<PYEOF
exec "$py" - <<'INNER'
import threading, hashlib, json
d = {}
for i in range(200000):
    d[str(i) * 3] = [i, str(i), {'k': i, 'v': [i] * (i % 7)}]
total = sum(len(k) + len(v[2]['v']) for k, v in d.items())
for i in range(0, 200000, 3):
    del d[str(i) * 3]
words = ' '.join('w%d' % (i * 7919 % 100003) for i in range(100000)).split()
res = []
lock = threading.Lock()
def work(n):
    acc = {}
    for i in range(60000):
        acc[i % 977] = (acc.get(i % 977, '') + str(i * n))[-40:]
    h = hashlib.sha256(json.dumps(acc, sort_keys=True).encode()).hexdigest()
    with lock:
        res.append((n, h))
ts = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(total, len(d), sorted(d)[:3], len(set(words)), sorted(words)[-2:])
for r in sorted(res): print(*r)
INNER
PYEOF
	compare python3
fi

if have perl; then
	cat >"$tmp/perl.sh" <<'PLEOF'
exec perl -e '
my %h; my @l;
for my $i (1..200000) { $h{"k$i"} = [$i, "v" x ($i % 13)]; push @l, $i * 7919 % 100003; }
my $s = 0; $s += length($h{$_}[1]) for keys %h;
my @sorted = sort { $a <=> $b } @l;
my $text = join(",", map { sprintf("%05d", $_) } @sorted[0..999]);
(my $t2 = $text) =~ s/(\d)(\d)/$2$1/g;
my %count; $count{$_ % 97}++ for @l;
print "$s $sorted[0] $sorted[-1] ", length($t2), " ", substr($t2, 0, 40), "\n";
print join(" ", map { "$_=$count{$_}" } (sort { $a <=> $b } keys %count)[0..9]), "\n";'
PLEOF
	compare perl
fi

if have sqlite3; then
	cat >"$tmp/sqlite3.sh" <<'SQEOF'
{
	echo "create table t(id integer primary key, name text, grp int, v real);"
	echo "create table g(grp int primary key, label text);"
	echo "begin;"
	i=0
	while [ $i -lt 4000 ]; do
		echo "insert into t(name, grp, v) values('name$i', $((i % 37)), $((i * 7919 % 1000)) / 7.0);"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 37 ]; do
		echo "insert into g values($i, 'group-$i');"
		i=$((i + 1))
	done
	echo "commit;"
	echo "create index t_grp on t(grp);"
	echo "select count(*), sum(grp), printf('%.3f', avg(v)) from t;"
	echo "select g.label, count(*), printf('%.2f', sum(t.v)) from t join g using(grp) group by grp order by 3 desc limit 5;"
	echo "select name from t where name like 'name39%' order by v desc, id limit 5;"
	echo "update t set v = v * 2 where grp = 3;"
	echo "delete from t where id % 5 = 0;"
	echo "select count(*), printf('%.3f', max(v)), group_concat(id) from (select * from t where grp = 3 order by id limit 10);"
} | sqlite3 :memory:
SQEOF
	compare sqlite3
fi

if have git; then
	cat >"$tmp/git.sh" <<'GITEOF'
set -e
export GIT_AUTHOR_NAME=kva GIT_AUTHOR_EMAIL=kva@example.org
export GIT_COMMITTER_NAME=kva GIT_COMMITTER_EMAIL=kva@example.org
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
export GIT_CONFIG_NOSYSTEM=1 HOME=$(pwd)
git init -q -b main repo
cd repo
i=0
while [ $i -lt 50 ]; do echo "file $i line" > f$i.txt; i=$((i + 1)); done
git add .
git commit -q -m first
seq 1 2000 > numbers.txt
sed -i 's/line/changed/' f1.txt f2.txt
git add -A
git commit -q -m second
git log --format='%H %s'
git show --stat --format=%s HEAD | tail -3
git ls-files | wc -l
GITEOF
	compare git
fi

if have gcc; then
	cat >"$tmp/gcc.sh" <<'GCCEOF'
set -e
cat > prog.c <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; int v; };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
	struct node *head = NULL;
	int a[1000], i, s = 0;
	for (i = 0; i < 1000; i++) {
		struct node *n = malloc(sizeof(*n));
		n->v = i * 7919 % 1009; n->next = head; head = n; a[i] = n->v;
	}
	qsort(a, 1000, sizeof(a[0]), cmp);
	while (head) { struct node *n = head->next; s += head->v; free(head); head = n; }
	printf("%d %d %d\n", s, a[0], a[999]);
	return 0;
}
CEOF
gcc -O2 -S -o - prog.c | grep -v '\.ident' | md5sum
gcc -O2 -o prog prog.c
./prog
GCCEOF
	compare gcc
fi

if have bash; then
	cat >"$tmp/bash.sh" <<'BASHEOF'
exec bash -c '
set -e
words=$(for i in $(seq 1 300); do echo "w$((i * 7 % 101))"; done | sort | uniq -c | sort -rn | head -5)
echo "$words"
count=0
for i in $(seq 1 6); do
	r=$( (echo $i; echo $((i * i))) | paste -sd+ | bc 2>/dev/null || echo $((i + i * i)) )
	count=$((count + r))
done
echo "count=$count"
declare -A map
for i in $(seq 1 2000); do map[k$((i % 97))]+="$i,"; done
echo "${#map[@]} ${#map[k3]}"
x=$( ( cd /; pwd ) ); echo "sub=$x"
printf "%s\n" a b c | while read -r l; do echo "line:$l"; done | tr a-z A-Z
'
BASHEOF
	compare bash
fi

[ -n "$skipped" ] && echo "SKIP (not installed):$skipped"
if [ $ran -eq 0 ]; then
	exit 77
fi
echo "shim_programs: $ran run, $failed failed"
[ $failed -eq 0 ]
