#!/bin/sh
# preflight.sh DEB_ARCH PROBE... — before anything is compiled, check that
# what a build needs is there, and name the Debian package of whatever is
# missing, so that a first `make` on a fresh machine fails at once with
# the cure rather than deep inside a compiler run.
#
# PROBE is one of (debian-packages.txt's probe column):
#   cmd:COMMAND    COMMAND is on PATH
#   py:MODULE      $PYTHON can import MODULE
#   pc:MODULE      $PKG_CONFIG (a command line: may begin with VAR=value
#                  assignments) knows MODULE
#   h:HEADER       $CC (with $CFLAGS) finds #include <HEADER>
#   l:LIB          $CC (with $CFLAGS) links a program with -lLIB (for a
#                  library without a .pc file)
# Prints nothing and exits 0 when all are there; else names each missing
# one and its package on stderr, prints the packages on stdout and exits 1.
set -u
arch=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
native=$(dpkg --print-architecture 2>/dev/null || echo "$arch")
: "${PYTHON:=python3}" "${PKG_CONFIG:=pkg-config}" "${CC:=gcc}" "${CFLAGS:=}"

# The package whose probe is $1, with :ARCH for a foreign target library.
package_of() {
	awk -v probe="$1" -v arch="$arch" -v native="$native" '
		/^#/ || NF < 3 { next }
		$3 == probe { print ($2 == "target" && arch != native) ? $1 ":" arch : $1; exit }' \
		"$top/debian-packages.txt"
}

missing_pkgs= missing_text=
for probe in "$@"; do
	kind=${probe%%:*} what=${probe#*:}
	case $kind in
	cmd)
		set -- $what
		command -v "$1" >/dev/null 2>&1 && continue
		desc="the command $1"
		probe=cmd:$(basename "$1") ;;
	py)
		"$PYTHON" -c "import $what" >/dev/null 2>&1 && continue
		desc="the Python module $what (for $PYTHON)" ;;
	pc)
		eval "$PKG_CONFIG --exists $what" >/dev/null 2>&1 && continue
		desc="the library $what (pkg-config)" ;;
	h)
		printf '#include <%s>\n' "$what" | $CC $CFLAGS -E -x c - >/dev/null 2>&1 && continue
		desc="the header <$what> (${CC%% *})" ;;
	l)
		tmp=$(mktemp -d) || exit 2
		printf 'int main(void) { return 0; }\n' >"$tmp/p.c"
		$CC $CFLAGS -o "$tmp/p" "$tmp/p.c" -l"$what" >/dev/null 2>&1
		rc=$?
		rm -rf "$tmp"
		[ $rc -eq 0 ] && continue
		desc="the library lib$what (${CC%% *} -l$what)" ;;
	*)
		echo "preflight: unknown probe $probe" >&2
		exit 2 ;;
	esac
	pkg=$(package_of "$probe")
	missing_text="$missing_text
  $desc: ${pkg:-not a Debian package this project lists}"
	[ -n "$pkg" ] && missing_pkgs="$missing_pkgs $pkg"
done
[ -z "$missing_text" ] && exit 0

deps="make deps"
[ "$arch" = "$native" ] || deps="make deps ARCH=$(echo "$arch" | sed 's/^amd64$/x86_64/')"
{
	echo "This build needs what is not installed for $arch:$missing_text"
	if [ -n "$missing_pkgs" ]; then
		echo "Run \`$deps\` to install them (apt-get install$missing_pkgs)."
	fi
} >&2
echo "$missing_pkgs"
exit 1
