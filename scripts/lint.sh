#!/bin/sh
# lint.sh OBJDIR FILE... — cppcheck and clang-tidy over the C sources.
set -u
obj=$1; shift
srcs=$(printf '%s\n' "$@" | grep '\.c$')
incs="-I. -I$obj/include -include lib/kconfig.h -D_GNU_SOURCE $(pkg-config --cflags-only-I libcurl sqlite3 libsodium inih p11-kit-1 libpq libmicrohttpd gnutls 2>/dev/null)"
status=0
echo "  CPPCHECK"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	--inline-suppr --std=c11 --suppress=missingIncludeSystem \
	--suppress='preprocessorErrorDirective:/usr/include/*' \
	--library=posix -D__GNUC__ $incs $srcs || status=1
echo "  TIDY"
# The static analyser does not know that a failed cmocka assertion ends
# the test, so in tests/ it reports paths that cannot run; the bug-prone
# checks still apply there.
for f in $srcs; do
	case $f in tests/*) checks=--checks=-clang-analyzer-* ;; *) checks= ;; esac
	clang-tidy --quiet $checks "$f" -- -std=gnu11 $incs 2>/dev/null | grep -E 'warning:|error:' && status=1
done
[ $status -eq 0 ] && echo "lint: clean"
exit $status
