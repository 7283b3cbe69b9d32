#!/bin/bash
# format.sh: every C file of the tree is as .clang-format lays it out, so
# that a change shows only what it changes. `make format` applies the style.
cd "$(dirname "$0")/../.." || exit 1
command -v clang-format >/dev/null || { echo "not ok - clang-format is installed (make deps)"; exit 1; }
bad=0
n=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find appliance bench tests -name '*.[ch]'); do
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not ok - $f is laid out as .clang-format says (make format)"
		clang-format "$f" | diff "$f" - | head -10 | sed 's/^/# /'
		bad=$((bad + 1))
	fi
done
[ $n -gt 100 ] && echo "ok - $n C files found" || echo "not ok - only $n C files found"
[ $bad = 0 ] && echo "ok - all $n C files laid out as .clang-format says"
