#!/bin/bash
# One backup set of 就业协议网上签约: the PostgreSQL database (pg_dump -Fc) and the upload store
# (a tar of UPLOAD_DIR), in BACKUP_DIR/jiuye-<UTC time>/, keeping the newest BACKUP_KEEP sets.
# docs/operations.md "Backup and restore" says how to run, restore and drill it.
#
#   DATABASE_URL   the app's SQLAlchemy URL, postgresql[+driver]://user[:password]@host:port/db
#   UPLOAD_DIR     the app's upload store (default, as in config.py: <repo>/instance/uploads)
#   BACKUP_DIR     where the sets go (required)
#   BACKUP_KEEP    how many sets to keep (default 14)
#   PG_SNAPSHOT    optional: dump this exported snapshot (pg_dump --snapshot), as
#                  deploy/restore_drill.py --fresh does to compare at the dump's instant
#
# Only Debian's postgresql-client, tar and coreutils. Exit status 0 only when the whole set was
# written and read back; a failed run leaves no set behind.
set -uo pipefail

fail() {
    echo "backup.sh: FAILED: $*" >&2
    exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
[[ -n ${DATABASE_URL:-} ]] || fail "DATABASE_URL is not set (the app's PostgreSQL URL)"
[[ -n ${BACKUP_DIR:-} ]] || fail "BACKUP_DIR is not set (where the sets go)"
UPLOAD_DIR=${UPLOAD_DIR:-$(dirname "$here")/instance/uploads}
BACKUP_KEEP=${BACKUP_KEEP:-14}
[[ $BACKUP_KEEP =~ ^[1-9][0-9]*$ ]] || fail "BACKUP_KEEP must be a whole number of sets ≥ 1, not '$BACKUP_KEEP'"

# SQLAlchemy's postgresql+psycopg:// (any driver) → libpq's postgresql://.
case $DATABASE_URL in
    postgresql://* | postgresql+*://* | postgres://*) ;;
    *) fail "DATABASE_URL is not a PostgreSQL URL (a SQLite demo database is a file: copy instance/app.db)" ;;
esac
pg_url=$(printf '%s' "$DATABASE_URL" | sed -E 's|^postgres(ql)?(\+[A-Za-z0-9_]+)?://|postgresql://|')

[[ -d $UPLOAD_DIR ]] || fail "UPLOAD_DIR $UPLOAD_DIR is not a directory (set it as for the app)"

# Personal data (ID and phone numbers, scans): nothing here is readable by anyone else.
umask 077
mkdir -p "$BACKUP_DIR" || fail "cannot create BACKUP_DIR $BACKUP_DIR"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$BACKUP_DIR/jiuye-$stamp"
partial="$final.partial"
mkdir -m 0700 "$partial" || fail "cannot create $partial (another backup this second?)"
trap 'rm -rf -- "$partial"' EXIT

snapshot=()
[[ -n ${PG_SNAPSHOT:-} ]] && snapshot=(--snapshot="$PG_SNAPSHOT")
pg_dump --format=custom "${snapshot[@]}" --file="$partial/database.dump" --dbname="$pg_url" \
    || fail "pg_dump of the database did not finish (its message is above)"

# After the dump, never before: a proof is written before the row that names it commits and is
# never rewritten, so every file the dump refers to is already there when tar runs.
# exports/ and imports/ are skipped: they hold personal data only for EXPORT_RETENTION_DAYS
# (app/jobs/files.py PURGED_FOLDERS); a backup would keep them BACKUP_KEEP days longer.
tar --create --file="$partial/uploads.tar" --directory="$UPLOAD_DIR" \
    --anchored --exclude=./exports --exclude=./imports . \
    || fail "tar of the upload store $UPLOAD_DIR did not finish (a file changed while it was read? run again)"

# Read both back before calling it a set.
pg_restore --list "$partial/database.dump" >/dev/null || fail "the dump just written does not read back"
tar --list --file="$partial/uploads.tar" >/dev/null || fail "the upload tar just written does not read back"
(cd "$partial" && sha256sum database.dump uploads.tar >SHA256SUMS) || fail "cannot write SHA256SUMS"
chmod 0600 "$partial"/* && chmod 0700 "$partial" || fail "cannot set the modes of $partial"
mv -- "$partial" "$final" || fail "cannot rename $partial to $final"
trap - EXIT

# Keep the newest BACKUP_KEEP complete sets (names sort by time; *.partial never counts).
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name 'jiuye-????????T??????Z' | sort \
    | head -n -"$BACKUP_KEEP" | while IFS= read -r set_dir; do rm -rf -- "$set_dir" || exit 1; done \
    || fail "cannot remove the sets beyond BACKUP_KEEP=$BACKUP_KEEP in $BACKUP_DIR"

echo "$final"
