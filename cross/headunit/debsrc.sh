#!/bin/bash
# debsrc.sh PACKAGE CACHE [SKIP-PATCH...] — Debian 12's source package
# PACKAGE, unpacked and patched once into CACHE/PACKAGE-UPSTREAMVERSION;
# prints that folder. For the head-unit build's libraries (build-curl.sh,
# build-sqlite.sh).
#
# The files (.dsc, .orig.tar.*, .debian.tar.*) come from the Debian archive
# the machine's apt already uses, through deb-src twins of its entries
# written into a private apt state (CACHE/apt); the machine's own apt
# configuration and lists are not touched. apt checks every file against
# the archive's signed Sources index. The patches of debian/patches/series
# are applied in order, but those named as SKIP-PATCH (a package's flavour
# patches, which debian/rules itself pops for some builds).
#
# PACKAGE_DEB_VERSION (e.g. CURL_DEB_VERSION, SQLITE3_DEB_VERSION) asks
# for an exact version. CACHE/PACKAGE-*/.eco2-provenance says what was
# fetched, from where, with the files' SHA-256.
#
# debsrc.sh --sources DIR writes the deb-src entries alone into DIR
# (sources.list, sources.list.d/) and exits; DEBSRC_APT_ETC names the apt
# configuration folder read (default /etc/apt; for the tests).
set -euo pipefail
die() { echo "debsrc.sh: $*" >&2; exit 1; }
say() { echo "  DEBSRC  $*" >&2; }
[ $# -ge 2 ] || die "usage: debsrc.sh PACKAGE CACHE [SKIP-PATCH...] | --sources DIR"
etc=${DEBSRC_APT_ETC:-/etc/apt}
pkg=$1
mkdir -p "$2"
CACHE=$(cd "$2" && pwd)
shift 2
skip=" $* "
vvar=$(echo "$pkg" | tr 'a-z0-9-' 'A-Z0-9_')_DEB_VERSION
want=${!vvar:-}
for t in dpkg-source patch apt-get flock; do
	command -v $t >/dev/null || die "$t not installed (dpkg-dev: debian-packages.txt)"
done

# deb-src twins of the machine's own Debian entries (one-line and deb822).
write_sources() { # DIR
	local f
	for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f"
	done >"$1/sources.list"
	for f in "$etc"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() { if (keep && !off) printf "%s\n", para; para = ""; keep = off = 0 }
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { keep = ($0 ~ /[: ]deb( |$)/); $0 = "Types: deb-src" }
			/^Enabled:[[:space:]]*no/ { off = 1 }
			{ para = para $0 "\n" }
			END { flush() }' "$f" >"$1/sources.list.d/${f##*/}"
	done
	grep -rqs '^deb-src \|^Types: deb-src' "$1/sources.list" "$1/sources.list.d" ||
		die "no Debian archive in $etc/sources.list* to take source packages from"
}
if [ "$pkg" = --sources ]; then
	mkdir -p "$CACHE/sources.list.d"
	write_sources "$CACHE"
	exit 0
fi
apt_src() {
	apt-get -q -o Dir::Etc::SourceList="$CACHE/apt/sources.list" \
		-o Dir::Etc::SourceParts="$CACHE/apt/sources.list.d" \
		-o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 "$@"
}

exec 9>"$CACHE/.lock-$pkg"
flock 9
src=$(cat "$CACHE/.source-$pkg" 2>/dev/null || true)
if [ -n "$src" ] && [ -f "$CACHE/$src/.eco2-prepared" ] &&
	{ [ -z "$want" ] || [ "$(cat "$CACHE/$src/.eco2-prepared")" = "$want" ]; }; then
	echo "$CACHE/$src"
	exit 0
fi
dl=$CACHE/dl-$pkg
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$dl"
# apt fetches as _apt when run as root
chmod 0777 "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$dl"
# the lists are refreshed when older than a day
if [ -z "$(find "$CACHE/apt/lists" -maxdepth 1 -name '*_Sources*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	rm -rf "$CACHE/apt/sources.list.d"
	mkdir -p "$CACHE/apt/sources.list.d"
	write_sources "$CACHE/apt"
	say "apt-get update (deb-src, private state in $CACHE/apt)"
	apt_src update >"$CACHE/apt/update.log" 2>&1 || grep -E '^(E|W):' "$CACHE/apt/update.log" >&2 || true
fi
rm -f "$dl"/*
say "apt-get source --download-only $pkg${want:+=$want}"
(cd "$dl" && apt_src source --download-only --only-source "$pkg${want:+=$want}") >"$CACHE/source-$pkg.log" 2>&1 ||
	{ tail -n 5 "$CACHE/source-$pkg.log" >&2; die "apt-get source $pkg failed"; }
dsc=$(ls "$dl"/*.dsc | head -n 1)
ver=$(sed -n 's/^Version: //p' "$dsc")
up=${ver#*:}
src=$pkg-${up%-*}
rm -rf "${CACHE:?}/$src" "$dl/$src"
(cd "$dl" && dpkg-source --skip-patches -x "${dsc##*/}" "$src") >"$CACHE/unpack-$pkg.log" 2>&1 ||
	{ tail -n 5 "$CACHE/unpack-$pkg.log" >&2; die "dpkg-source -x $pkg failed"; }
(
	cd "$dl/$src"
	[ -f debian/patches/series ] || exit 0
	sed -e 's/#.*//' debian/patches/series | while read -r p opt; do
		[ -n "$p" ] || continue
		case $skip in *" $p "*) continue ;; esac
		patch ${opt:--p1} -s --no-backup-if-mismatch <"debian/patches/$p" ||
			{ echo "debsrc.sh: $pkg: debian/patches/$p does not apply" >&2; exit 1; }
	done
) || die "patching $pkg failed"
{
	echo "package: $pkg $ver (Debian source package)"
	echo "archive: $(grep -rhoE '^(deb-src .*|URIs:.*)' "$CACHE/apt/sources.list" "$CACHE/apt/sources.list.d" |
		sed 's/^URIs: *//' | sort -u | tr '\n' ' ')"
	echo "files:"
	(cd "$dl" && sha256sum -- *.dsc *.tar.*)
	echo "patches: debian/patches/series, in order${*:+, without $*}"
} >"$dl/$src/.eco2-provenance"
echo "$ver" >"$dl/$src/.eco2-prepared"
mv "$dl/$src" "$CACHE/$src"
echo "$src" >"$CACHE/.source-$pkg"
echo "$CACHE/$src"
