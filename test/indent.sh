#!/usr/bin/env bash
# The pgindent layout check of src/*.c and src/*.h.
#
#   bash test/indent.sh           exit 1 with the diff if a file would change
#   bash test/indent.sh --write   reformat them in place instead (and rewrite
#                                 src/typedefs.list)
#
# Runs Debian's pg_bsd_indent (package pg-bsd-indent, version 2.1.1, the one
# PostgreSQL 15's pgindent wants) with pgindent's options and its pre- and
# post-processing on a copy of each file, and compares.  pg_bsd_indent must
# know every typedef name to lay out declarations and casts (SjJob *job, not
# SjJob * job); pgindent combines the project's list with PostgreSQL's.
# Debian ships no PostgreSQL typedefs.list, so the second part is made here:
# the names of the typedefs of every PostgreSQL and system header that the
# sources include, read from the debug information of one file that includes
# them all.  The project's own names are kept in src/typedefs.list, which
# this script checks against the typedefs of src/ (--write rewrites it).
set -u

WRITE=0
case ${1:-} in
	"") ;;
	--write) WRITE=1 ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "usage: bash test/indent.sh [--write]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.." || exit 2
. test/lib.sh
sj_install_packages pg-bsd-indent binutils || exit 1

INDENT=pg_bsd_indent
INDENT_VERSION=2.1.1
# pgindent's options (src/tools/pgindent/pgindent of PostgreSQL 15)
INDENT_OPTS="-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79 -lp -lpl -nip -npro -sac -tpg -ts4"
PG_CONFIG=$SJ_PGBIN/pg_config

$INDENT --version | grep -q " $INDENT_VERSION " ||
	{ echo "test/indent.sh: $INDENT $INDENT_VERSION needed, found: $($INDENT --version)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/sj-indent-$$.XXXX) || exit 2
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP

FILES=$(ls src/*.c src/*.h)

# --- the project's typedefs: src/typedefs.list must name them all ----------
# The name a typedef declares: typedef ... { ... } Name;  typedef T Name;
# typedef R (*Name) (...);  (comments removed, braces counted)
perl -e '
	my %names;
	for my $file (@ARGV) {
		open(my $fh, "<", $file) or die "$file: $!\n";
		local $/; my $src = <$fh>; close($fh);
		$src =~ s{/\*.*?\*/}{ }gs;
		while ($src =~ /^typedef\b/mg) {
			my ($start, $depth, $i) = (pos($src), 0, pos($src));
			for (; $i < length($src); $i++) {
				my $c = substr($src, $i, 1);
				$depth++ if $c eq "{";
				$depth-- if $c eq "}";
				last if $c eq ";" && $depth == 0;
			}
			my $decl = substr($src, $start, $i - $start);
			$decl =~ s/\{.*\}/ /s;
			if ($decl =~ /\(\s*\*\s*(\w+)\s*\)/) { $names{$1} = 1; }
			else { $decl =~ s/(\[[^]]*\]\s*)+$//; $names{$1} = 1 if $decl =~ /(\w+)\s*$/; }
		}
	}
	print map { "$_\n" } sort keys %names;
' $FILES > "$WORK/project.list" || exit 1
rc=0
if [ $WRITE = 1 ]; then
	cmp -s src/typedefs.list "$WORK/project.list" ||
		{ cp "$WORK/project.list" src/typedefs.list; echo "rewrote src/typedefs.list"; }
elif ! diff -u --label src/typedefs.list --label "typedefs in src/" \
	<(sort -u src/typedefs.list) "$WORK/project.list"; then
	echo "test/indent.sh: src/typedefs.list does not name the typedefs of src/ (diff above)" >&2
	rc=1
fi

# --- PostgreSQL's and the system's typedefs, from the headers src/ includes --
{
	echo '#include "postgres.h"'
	grep -h '^#include' $FILES | sort -u | while read -r _ header; do
		name=${header:1:-1}
		# a header of the project (src/guc.h, not utils/guc.h)
		[[ $header == \"* && $name != */* && -f src/$name ]] && continue
		[ "$name" = postgres.h ] || echo "#include $header"
	done
} > "$WORK/headers.c"
gcc -g -fno-eliminate-unused-debug-types -c -o "$WORK/headers.o" \
	-I"$($PG_CONFIG --includedir-server)" -I"$($PG_CONFIG --includedir)/internal" \
	-D_GNU_SOURCE "$WORK/headers.c" ||
	{ echo "test/indent.sh: could not compile the headers of src/ ($WORK/headers.c)" >&2; exit 1; }
# pgindent adds bool (a macro of stdbool.h) and drops names that are more
# often variables than types
objdump --dwarf=info "$WORK/headers.o" | awk '
	/Abbrev Number/ { in_typedef = /DW_TAG_typedef/; next }
	in_typedef && /DW_AT_name/ { print $NF; in_typedef = 0 }' |
	grep -vxE 'ANY|FD_SET|U|abs|allocfunc|boolean|date|digit|ilist|interval|iterator|other|pointer|printfunc|reference|string|timestamp|type|wrap' \
	> "$WORK/pg.list"
[ "$(wc -l < "$WORK/pg.list")" -gt 500 ] ||
	{ echo "test/indent.sh: found only $(wc -l < "$WORK/pg.list") PostgreSQL typedefs" >&2; exit 1; }
{ echo bool; cat "$WORK/pg.list" "$WORK/project.list" src/typedefs.list; } | sort -u > "$WORK/typedefs.list"

# --- indent a copy of each file ----------------------------------------------
# pgindent's pre_indent and post_indent, for the constructs they handle
pre_indent() {
	perl -0777 -pe '
		s!^([ \t]*)//(.*)$!$1/* $2 */!gm;
		s!/\* +---!/*---X_X!g;
		s!(^#ifdef[ \t]+__cplusplus.*\nextern[ \t]+"C"[ \t]*\n)\{[ \t]*$!$1/* Open extern "C" */!gm;
		s!(^#ifdef[ \t]+__cplusplus.*\n)\}[ \t]*$!$1/* Close extern "C" */!gm;
		s!^(CATALOG\(.*)$!/*$1*/!gm;'
}
post_indent() {
	perl -0777 -pe '
		s!^/\*(CATALOG\(.*)\*/$!$1!gm;
		s!^/\* Open extern "C" \*/$!{!gm;
		s!^/\* Close extern "C" \*/$!}!gm;
		s!/\*---X_X!/* ---!g;
		s!\*/(/\*.*\*/)$!*/\t$1!gm;
		s!^([A-Za-z_]\S*)[ \t]+\*$!$1 *!gm;'
}

mkdir -p "$WORK/pre" "$WORK/out"
changed=0
for f in $FILES; do
	b=$(basename "$f")
	pre_indent < "$f" > "$WORK/pre/$b"
	if ! err=$($INDENT $INDENT_OPTS -U"$WORK/typedefs.list" "$WORK/pre/$b" "$WORK/pre/$b.out" 2>&1) || [ -n "$err" ]; then
		echo "test/indent.sh: $INDENT failed on $f: $err" >&2
		rc=1
		continue
	fi
	post_indent < "$WORK/pre/$b.out" > "$WORK/out/$b"
	if ! cmp -s "$f" "$WORK/out/$b"; then
		changed=$((changed + 1))
		if [ $WRITE = 1 ]; then
			cat "$WORK/out/$b" > "$f"
			echo "reformatted $f"
		else
			diff -u --label "$f" --label "$f (pgindent)" "$f" "$WORK/out/$b"
		fi
	fi
done

nfiles=$(echo "$FILES" | wc -w)
if [ $WRITE = 1 ]; then
	echo "$changed of $nfiles files reformatted"
elif [ $changed -gt 0 ]; then
	echo "test/indent.sh: $changed of $nfiles files are not in pgindent layout (diff above;" \
		"bash test/indent.sh --write reformats them)" >&2
	rc=1
else
	echo "all $nfiles files in pgindent layout"
fi
exit $rc
