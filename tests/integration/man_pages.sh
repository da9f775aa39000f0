#!/bin/bash
# man_pages.sh — the manual pages in docs/man render, are complete, match
# the programs, and install.
#
# For every page docs/man/NAME.N:
#   - groff (-ww: every warning) and man -l (man-db's own warnings) render
#     it without a warning, and lexgrog reads its NAME line (whatis, apropos);
#   - .TH names the file's name and section;
#   - it has the sections its kind needs (a program's: NAME, SYNOPSIS,
#     DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES, SEE ALSO; a file
#     format's: NAME, SYNOPSIS, DESCRIPTION, SEE ALSO; plus per-page ones);
#   - every eco2 page it refers to as NAME(N) exists.
# For every page whose NAME is a program built in $ECO2_BUILD:
#   - every long option its --help prints appears in the page;
#   - every option the page defines (the tags of OPTIONS, COMMANDS, FAULTS,
#     FAULT INJECTION) is one the program knows (a string of its binary:
#     getopt_long's table names every long option);
#   - eco2ctl: every command its --help lists has an entry under COMMANDS.
# So a page cannot drift from the code in either direction. Finally every
# program `make install` installs has a page, and `make install
# DESTDIR=...` puts each page, unchanged, under usr/share/man/manN/ where
# man(1) finds it by name.
#
# TAP on stdout; exit 0, 1 on a failure, 77 when man or groff is missing.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cd "$top" || exit 1
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES

for tool in man groff; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "$tool is not installed (Debian: man-db, groff-base): cannot check the pages"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eco2-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
note() { sed 's/^/# /' "$@" | head -20; }

# The section headings of a page's source, one a line, unquoted.
sections() {
	sed -n 's/^\.SH[[:space:]]\{1,\}//p' "$1" | sed 's/^"\(.*\)"[[:space:]]*$/\1/'
}

# The tag lines (the line after .TP) inside the named sections of a page,
# with roff escapes for hyphens and fonts removed.
tags_in() { # tags_in PAGE SECTION...
	local page=$1
	shift
	awk -v want="$(printf '%s\n' "$@")" '
		BEGIN { n = split(want, w, "\n"); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
		/^\.SH/ { s = $0; sub(/^\.SH[ \t]+/, "", s); gsub(/"/, "", s); on = (s in keep); next }
		on && tp { print; tp = 0; next }
		on && /^\.TP/ { tp = 1 }
	' "$page" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g'
}

# Long options named in a text: --word-word, one a line, sorted, unique.
long_opts() {
	grep -oE -- '--[a-z0-9][a-z0-9-]*[a-z0-9]' | sort -u
}

# ---- every page -------------------------------------------------------------

pages=$(ls docs/man/*.[1-8] 2>/dev/null)
if [ -z "$pages" ]; then
	tap 1 "docs/man holds manual pages"
	echo "1..$n"
	exit 1
fi
have_lexgrog=$(command -v lexgrog || true)

for page in $pages; do
	file=$(basename "$page")
	sec=${file##*.}
	name=${file%.*}

	groff -man -ww -z "$page" >"$tmp/groff.log" 2>&1
	[ ! -s "$tmp/groff.log" ]
	tap $? "$file: groff -man -ww renders it without a warning"
	[ -s "$tmp/groff.log" ] && note "$tmp/groff.log"

	MANWIDTH=80 man --warnings -l "$page" 2>"$tmp/man.log" >"$tmp/man.txt"
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$tmp/man.log" ] && [ -s "$tmp/man.txt" ]
	tap $? "$file: man --warnings -l renders it without a warning (exit $rc)"
	[ -s "$tmp/man.log" ] && note "$tmp/man.log"

	if [ -n "$have_lexgrog" ]; then
		whatis=$(lexgrog "$page" 2>&1)
		grep -qF "\"$name - " <<<"$whatis"
		tap $? "$file: lexgrog reads its NAME line ($whatis)"
	else
		skip "$file: NAME line for whatis" "lexgrog (man-db) not installed"
	fi

	th=$(sed -n '/^\.TH/{p;q}' "$page")
	# .TH title is the name in capitals; the second word the section.
	read -r _ th_title th_sec _ <<<"$th"
	[ "$th_title" = "${name^^}" ] && [ "$th_sec" = "$sec" ]
	tap $? "$file: .TH says ${name^^} $sec (got: $th_title $th_sec)"

	case $sec in
	5) need=("NAME" "SYNOPSIS" "DESCRIPTION" "SEE ALSO") ;;
	*) need=("NAME" "SYNOPSIS" "DESCRIPTION" "OPTIONS" "EXIT STATUS" "EXAMPLES" "SEE ALSO") ;;
	esac
	case $name in
	eco2d) need+=("FILES" "SIGNALS" "ENVIRONMENT") ;;
	eco2ctl) need+=("COMMANDS" "FILES" "ENVIRONMENT") ;;
	eco2-ledger) need+=("FAULT INJECTION") ;;
	esac
	sections "$page" >"$tmp/sections"
	missing=
	for s in "${need[@]}"; do
		grep -qxF "$s" "$tmp/sections" || missing="$missing [$s]"
	done
	[ -z "$missing" ]
	tap $? "$file: has the sections it needs${missing:+ (missing:$missing)}"

	# Cross references: .BR name (N) to another eco2 page must resolve.
	bad=
	while read -r ref rsec; do
		[ -f "docs/man/$ref.$rsec" ] || bad="$bad $ref($rsec)"
	done < <(sed -n 's/^\.BR[[:space:]]\{1,\}\(eco2[a-z0-9.-]*\)[[:space:]]\{1,\}(\([1-8]\)).*/\1 \2/p' "$page" |
		 sed 's/\\-/-/g')
	[ -z "$bad" ]
	tap $? "$file: every eco2 page it refers to exists${bad:+ (not in docs/man:$bad)}"
done

# ---- pages against their programs --------------------------------------------

for page in $pages; do
	file=$(basename "$page")
	name=${file%.*}
	prog=$build/$name
	case $name in *.*) continue ;; esac    # file formats, not programs
	if [ ! -x "$prog" ]; then
		skip "$file: options match $name --help" "$name is not built in $build"
		continue
	fi
	"$prog" --help >"$tmp/help" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$tmp/help" ]; then
		# A cross build's program cannot run here.
		skip "$file: options match $name --help" "$name --help exits $rc here"
		continue
	fi
	# The page as a reader sees it, wide, unhyphenated, without overstrike.
	MANWIDTH=250 man -l "$page" 2>/dev/null | sed 's/.\x08//g' >"$tmp/page.txt"

	long_opts <"$tmp/help" >"$tmp/help.opts"
	absent=
	while read -r o; do
		grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$tmp/page.txt" || absent="$absent $o"
	done <"$tmp/help.opts"
	[ -s "$tmp/help.opts" ] && [ -z "$absent" ]
	tap $? "$file: each of the $(wc -l <"$tmp/help.opts") long options of $name --help is in the page${absent:+ (missing:$absent)}"

	tags_in "$page" "OPTIONS" "COMMANDS" "FAULTS" "FAULT INJECTION" | long_opts >"$tmp/page.opts"
	if command -v strings >/dev/null 2>&1; then
		strings -a -n 2 "$prog" >"$tmp/strings"
		unknown=
		while read -r o; do
			# The linker merges a string into the tail of a longer
			# one ("status" into "--status"): a name ends a string.
			grep -qE -- "(^|[^a-z0-9])${o#--}\$" "$tmp/strings" || unknown="$unknown $o"
		done <"$tmp/page.opts"
		[ -s "$tmp/page.opts" ] && [ -z "$unknown" ]
		tap $? "$file: each of the $(wc -l <"$tmp/page.opts") options it defines is one $name knows${unknown:+ (unknown:$unknown)}"
	else
		skip "$file: each option it defines is one $name knows" "strings (binutils) not installed"
	fi

	if [ "$name" = eco2ctl ]; then
		# "commands:" then "  name ..." lines until a blank one.
		cmds=$(sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z0-9-]*\).*/\1/;p}}' "$tmp/help")
		tags_in "$page" "COMMANDS" | awk '{ print $1 }' | sed 's/^\.B[IR]*//' >"$tmp/cmd.tags"
		tags_in "$page" "COMMANDS" | awk '{ print $2 }' >>"$tmp/cmd.tags"
		absent=
		for c in $cmds; do
			grep -qxF "$c" "$tmp/cmd.tags" || absent="$absent $c"
		done
		[ -n "$cmds" ] && [ -z "$absent" ]
		tap $? "$file: each command eco2ctl --help lists ($(echo $cmds)) has an entry under COMMANDS${absent:+ (missing:$absent)}"
	fi
done

# ---- installation -----------------------------------------------------------------

progs=$(make -s --no-print-directory O="$build" print-install-progs 2>/dev/null)
installed=$(sed -n 's/^s\{0,1\}bin: //p' <<<"$progs")
if [ -n "$installed" ]; then
	for p in $installed; do
		ls docs/man/"$p".[1-8] >/dev/null 2>&1
		tap $? "$p, which make install installs, has a page in docs/man"
	done
else
	skip "each installed program has a page" "make print-install-progs gave no list"
fi

dest=$tmp/root
make --no-print-directory O="$build" install DESTDIR="$dest" >"$tmp/install.log" 2>&1
rc=$?
tap $rc "make install DESTDIR=... exit status 0"
if [ $rc -ne 0 ]; then
	note "$tmp/install.log"
else
	for page in $pages; do
		file=$(basename "$page")
		sec=${file##*.}
		name=${file%.*}
		inst=$dest/usr/share/man/man$sec/$file
		[ -f "$inst" ] && cmp -s "$page" "$inst" && [ "$(stat -c %a "$inst")" = 644 ]
		tap $? "$file installed as usr/share/man/man$sec/$file, mode 0644, unchanged"
		found=$(MANPATH=$dest/usr/share/man man -w "$sec" "$name" 2>/dev/null)
		[ "$found" = "$inst" ]
		tap $? "man -w $sec $name finds the installed page (got: ${found:-nothing})"
	done
fi

echo "1..$n"
exit $failed
