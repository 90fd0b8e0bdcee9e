#!/bin/sh
# man_lint.sh: every manual page in man/ lints clean and renders.
#   mandoc -T lint -W warning   no warning (when mandoc is installed)
#   groff -mandoc -ww -z        no warning (when groff is installed)
#   man -l                      renders, with nothing on stderr
# Skipped (exit 77) only when neither mandoc nor groff is installed.
# Any page in man/ is checked, including pages added later.
set -u
srcdir=${srcdir:-.}
have_mandoc=no have_groff=no have_man=no
command -v mandoc >/dev/null 2>&1 && have_mandoc=yes
command -v groff >/dev/null 2>&1 && have_groff=yes
command -v man >/dev/null 2>&1 && have_man=yes
if [ $have_mandoc = no ] && [ $have_groff = no ]; then
	echo "skipped: neither mandoc nor groff is installed (scripts/install-deps)"
	exit 77
fi
msg=$(mktemp)
trap 'rm -f "$msg"' EXIT
fail=0 n=0
for page in "$srcdir"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	name=$(basename "$page")
	ok=yes
	if [ $have_mandoc = yes ] &&
	    { ! mandoc -T lint -W warning "$page" >"$msg" 2>&1 || [ -s "$msg" ]; }; then
		echo "FAIL: $name: mandoc -T lint:"
		sed 's/^/    /' "$msg"
		ok=no
	fi
	if [ $have_groff = yes ] &&
	    { ! groff -mandoc -ww -z "$page" >"$msg" 2>&1 || [ -s "$msg" ]; }; then
		echo "FAIL: $name: groff -ww:"
		sed 's/^/    /' "$msg"
		ok=no
	fi
	if [ $have_man = yes ] &&
	    { ! MANWIDTH=80 man -l "$page" >/dev/null 2>"$msg" || [ -s "$msg" ]; }; then
		echo "FAIL: $name: man -l:"
		sed 's/^/    /' "$msg"
		ok=no
	fi
	if [ $ok = yes ]; then
		echo "ok: $name"
	else
		fail=1
	fi
done
if [ $n -eq 0 ]; then
	echo "FAIL: no manual pages in $srcdir/man"
	fail=1
fi
exit $fail
