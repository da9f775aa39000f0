#!/bin/sh
# deps.sh check|install DEB_ARCH — check for, or install, the Debian packages
# listed in debian-packages.txt. For a foreign DEB_ARCH the target libraries
# are installed as pkg:ARCH (multiarch) and the cross tools are added.
set -eu
mode=$1
arch=${2:-$(dpkg --print-architecture)}
top=$(cd "$(dirname "$0")/.." && pwd)
native=$(dpkg --print-architecture)

want=$(awk -v arch="$arch" -v native="$native" '
	/^#/ || NF < 2 { next }
	$2 == "host" { print $1 }
	$2 == "target" { print (arch == native) ? $1 : $1 ":" arch }
	$2 == "cross" && arch != native { print $1 }' "$top/debian-packages.txt")

# With several architectures installed dpkg-query prints one line each;
# a package counts when it is installed for the wanted one (or is "all").
missing=
for p in $want; do
	name=${p%%:*}
	a=$native
	[ "$name" = "$p" ] || a=${p#*:}
	dpkg-query -W -f='${Architecture} ${db:Status-Status}\n' "$name" 2>/dev/null |
		grep -Eq "^($a|all) installed$" || missing="$missing $p"
done

if [ "$mode" = check ]; then
	[ -z "$missing" ] && exit 0
	echo "missing packages:$missing" >&2
	exit 1
fi
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
if [ "$arch" != "$native" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	$sudo dpkg --add-architecture "$arch"
fi
echo "deps: installing$missing"
# A partial index failure (a mirror mid-sync for one architecture) must not
# stop the install of packages the other indexes serve.
$sudo apt-get update -qq || echo "deps: apt-get update reported errors; installing anyway" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
