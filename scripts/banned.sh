#!/bin/sh
# banned.sh FILE... — refuse calls to C functions that invite overflows or
# hidden state, the way curl's checksrc does. Prints file:line: for each.
set -u
banned='strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|atof|gets|strncpy|strncat|tmpnam|mktemp|asctime|ctime|gmtime|localtime|rand|srand'
status=0
for f in "$@"; do
	case "$f" in *.c|*.h) ;; *) continue ;; esac
	# Strip comments and string literals crudely before matching.
	sed -e 's://.*$::' -e 's:"[^"]*"::g' "$f" |
	grep -nE "(^|[^_a-zA-Z0-9.>])($banned)[[:space:]]*\(" |
	while IFS= read -r line; do
		echo "$f:${line%%:*}: banned function: ${line#*:}"
	done | grep . && status=1
done
[ $status -eq 0 ] && echo "banned: clean"
exit $status
