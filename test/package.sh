#!/usr/bin/env bash
# The Debian package: build it, install it, test the installed files.
#
#   bash test/package.sh
#
# Runs from any directory, as root or as a user with sudo (for apt-get).  In
# turn it
#   1. checks that META.json and debian/changelog carry the version of
#      scheduled_jobs.control (default_version, the one place it is written),
#   2. installs the missing build dependencies,
#   3. builds postgresql-15-scheduled-jobs_<version>_<arch>.deb with
#      dpkg-buildpackage in a temporary copy of the tree, so that no build
#      artefact lands in the checkout,
#   4. installs it with apt-get (over the files of an earlier make install;
#      the package stays installed) and checks its files with dpkg --verify,
#   5. runs the pg_regress tests (make installcheck) on a temporary instance
#      of the installed PostgreSQL and package, as the postgres OS user when
#      we are root (initdb refuses root).
# The temporary directory is removed on exit; exits non-zero on failure.
set -u

cd "$(dirname "$0")/.." || exit 2
. test/lib.sh

PACKAGE=postgresql-15-scheduled-jobs
BUILD_DEPS="debhelper postgresql-server-dev-all build-essential"
SUDO=
[ "$(id -u)" != 0 ] && SUDO=sudo

fail() { echo "test/package.sh: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/sj-package-$$.XXXX) || exit 2
# apt-get reads the .deb as the _apt user, the tests run as postgres
chmod 755 "$WORK"
SRC=$WORK/scheduled-jobs

cleanup() {
	local rc=$?
	# pg_regress stops its instance itself, unless it was killed
	[ -f "$SRC/tmp_check/data/postmaster.pid" ] &&
		sj_as_pg $SJ_PGBIN/pg_ctl -D "$SRC/tmp_check/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- 1. one version ---------------------------------------------------------
VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" scheduled_jobs.control)
[ -n "$VERSION" ] || fail "no default_version in scheduled_jobs.control"
meta=$(perl -MJSON::PP -e 'local $/; my $m = decode_json(<STDIN>);
	print "$m->{version} $m->{provides}{scheduled_jobs}{version}\n"' < META.json) ||
	fail "META.json is not valid JSON"
[ "$meta" = "$VERSION $VERSION" ] ||
	fail "META.json has version and provides version '$meta', scheduled_jobs.control has $VERSION"
deb_version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
[ "$deb_version" = "$VERSION" ] ||
	fail "debian/changelog is at $deb_version, scheduled_jobs.control at $VERSION"
echo "version $VERSION in scheduled_jobs.control, META.json and debian/changelog"

# --- 2. build dependencies --------------------------------------------------
sj_install_packages $BUILD_DEPS || exit 1

# --- 3. build -----------------------------------------------------------------
mkdir "$SRC"
tar -C . --exclude=./.git --exclude=./tmp_check --exclude=./results --exclude=./log -cf - . |
	tar -C "$SRC" -xf - || fail "could not copy the tree to $SRC"
echo "building $PACKAGE $VERSION in $SRC"
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1; then
	tail -40 "$WORK/build.log"
	fail "dpkg-buildpackage failed (the end of its log above)"
fi
DEB=$WORK/${PACKAGE}_${VERSION}_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || { ls "$WORK"; fail "dpkg-buildpackage did not make $DEB"; }
dpkg-deb --info "$DEB" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'

# --- 4. install -------------------------------------------------------------
# --reinstall: the same version may be installed already, with other files
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 --reinstall "$DEB" >"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log"; fail "apt-get install $DEB failed"; }
dpkg --verify "$PACKAGE" || fail "the installed files of $PACKAGE differ from the package"
installed=$(sed -n "s/^default_version = '\(.*\)'/\1/p" \
	"$($SJ_PGBIN/pg_config --sharedir)/extension/scheduled_jobs.control")
[ "$installed" = "$VERSION" ] || fail "the installed control file says $installed"
echo "installed $(basename "$DEB")"

# --- 5. the regression tests against the installed package -----------------
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$SRC"
if ! (cd "$SRC" && sj_as_pg make -s installcheck PG_CONFIG=$SJ_PGBIN/pg_config); then
	[ -f "$SRC/regression.diffs" ] && cat "$SRC/regression.diffs"
	fail "pg_regress failed against the installed package"
fi
