#!/bin/bash
# build-sqlite.sh ARCH CACHE OUT [SYSROOT] — the head unit's SQLite: a
# static libsqlite3 from Debian 12's sqlite3 source package, with the core
# SQL engine only (eco2-agent's store needs tables, indexes, WAL and
# quick_check; not Debian's full-text search, R-tree, JSON, session,
# math-function or extension-loading code), compiled for size.
#
#   ARCH     x86_64 | arm64 | armhf
#   CACHE    as for build-curl.sh (debsrc.sh: the private apt state and the
#            patched source), plus the amalgamation made from that source
#   OUT      this build's folder: OUT/sqlite (objects) and OUT/prefix
#            (lib/libsqlite3.a, include/sqlite3.h, PROVENANCE-sqlite3)
#   SYSROOT  the target's sysroot, if any
#
# The amalgamation (sqlite3.c) is made once from Debian's patched source
# by its own build (configure; make sqlite3.c, which needs tclsh) and is
# the same for every target. SQLITE3_DEB_VERSION asks for an exact version.
set -euo pipefail
# a make of their own: not the calling make's flags (no built-in rules) nor its jobs
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
die() { echo "build-sqlite.sh: $*" >&2; exit 1; }
say() { echo "  SQLITE  $*" >&2; }
[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: build-sqlite.sh ARCH CACHE OUT [SYSROOT]"
ARCH=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/target.sh"
target_dirs "$2" "$3" "${4:-}"
target_arch "$ARCH"
command -v tclsh >/dev/null || die "tclsh not installed (tcl: debian-packages.txt); SQLite's build makes its amalgamation with it"

SRC=$("$here/debsrc.sh" sqlite3 "$CACHE")
VER=$(cat "$SRC/.eco2-prepared")
AMAL=$CACHE/sqlite3-amalgamation-$VER
exec 9>"$CACHE/.lock-sqlite3"
flock 9
if [ ! -f "$AMAL/sqlite3.c" ]; then
	say "amalgamation from $SRC"
	rm -rf "$AMAL.tmp"
	mkdir -p "$AMAL.tmp"
	(cd "$AMAL.tmp" && "$SRC/configure" --disable-tcl --enable-amalgamation &&
		make sqlite3.c) >"$CACHE/amalgamation-sqlite3.log" 2>&1 ||
		{ tail -n 20 "$CACHE/amalgamation-sqlite3.log" >&2; die "make sqlite3.c failed"; }
	mkdir -p "$AMAL"
	cp "$AMAL.tmp/sqlite3.c" "$AMAL.tmp/sqlite3.h" "$AMAL/"
	rm -rf "$AMAL.tmp"
fi
flock -u 9

# The core engine and what eco2-agent's store relies on. Debian's own
# build adds FTS3/4/5, R-tree, JSON, sessions, math functions and
# load_extension(); none of them is compiled in here. The OMIT options are
# among those SQLite documents as safe for the amalgamation.
DEFS=(
	-DSQLITE_THREADSAFE=1 -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_SECURE_DELETE
	-DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_MAX_EXPR_DEPTH=0 -DSQLITE_USE_ALLOCA
	-DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_SHARED_CACHE
	-DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON -DSQLITE_OMIT_LOOKASIDE=1
)
FLAGS=(-Os -ffunction-sections -fdata-sections -fstack-protector-strong -D_FORTIFY_SOURCE=2
	${SYSROOT:+--sysroot="$SYSROOT"} "${DEFS[@]}")
mkdir -p "$OUT/sqlite" "$OUT/prefix/lib" "$OUT/prefix/include"
sig=$(printf '%s\n' "$VER" "$CC_" "${FLAGS[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$OUT/prefix/lib/libsqlite3.a" ] || [ "$(cat "$OUT/sqlite/.eco2-built" 2>/dev/null)" != "$sig" ]; then
	say "compile sqlite3.c ($ARCH, $VER)"
	"$CC_" "${FLAGS[@]}" -c "$AMAL/sqlite3.c" -o "$OUT/sqlite/sqlite3.o" 2>"$OUT/sqlite/compile.log" ||
		{ tail -n 20 "$OUT/sqlite/compile.log" >&2; die "compiling sqlite3.c failed"; }
	rm -f "$OUT/prefix/lib/libsqlite3.a"
	"$AR_" rcsD "$OUT/prefix/lib/libsqlite3.a" "$OUT/sqlite/sqlite3.o"
	cp "$AMAL/sqlite3.h" "$OUT/prefix/include/"
	{
		cat "$SRC/.eco2-provenance"
		echo "then: configure --disable-tcl --enable-amalgamation; make sqlite3.c"
		echo "target: $ARCH ($TRIPLET)${SYSROOT:+, sysroot $SYSROOT}"
		echo "compile: $CC_ ${FLAGS[*]} -c sqlite3.c"
	} >"$OUT/prefix/PROVENANCE-sqlite3"
	echo "$sig" >"$OUT/sqlite/.eco2-built"
fi
say "$OUT/prefix/lib/libsqlite3.a: $(stat -c %s "$OUT/prefix/lib/libsqlite3.a") bytes, $VER"
