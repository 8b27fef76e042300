#!/usr/bin/env bash
# One-off start-up step of the deployment (the airflow-init service), safe to run again:
# migrates Airflow's metadata database, stores the three connections and the simple auth
# manager's admin password from the environment (.env), creates the Google quota pool, and
# migrates the warehouse. The scheduler-path test runs this same script against a local
# PostgreSQL, so what it does is checked without Docker.
set -euo pipefail

: "${SCHOOLNET_GOOGLE_CONN:?SCHOOLNET_GOOGLE_CONN is not set (see .env.example)}"
: "${SMTP_CONN:?SMTP_CONN is not set (see .env.example)}"
: "${WAREHOUSE_CONN:?WAREHOUSE_CONN is not set (see .env.example)}"
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set (see .env.example)}"
GOOGLE_SHEETS_POOL_SLOTS="${GOOGLE_SHEETS_POOL_SLOTS:-4}"

echo "schoolnet init: migrating Airflow's metadata database"
airflow db migrate

# Connection ids as config/schoolnet.toml [connections] names them, each from a JSON connection
# in the environment; --overwrite, so a changed .env takes effect on the next start.
connections_file="$(mktemp --suffix=.json)"
trap 'rm -f "$connections_file"' EXIT
python - "$connections_file" <<'PY'
import json, os, sys
connections = {
    "schoolnet_google": "SCHOOLNET_GOOGLE_CONN",
    "schoolnet_warehouse": "WAREHOUSE_CONN",
    "smtp_default": "SMTP_CONN",
}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({conn_id: json.loads(os.environ[name]) for conn_id, name in connections.items()}, handle)
PY
airflow connections import --overwrite "$connections_file"
rm -f "$connections_file"

airflow pools set google_sheets "$GOOGLE_SHEETS_POOL_SLOTS" \
  "Concurrent Google Sheets API calls (quota: 60 reads per minute per account)"

# The simple auth manager keeps its users' passwords in a JSON file; the admin's comes from .env.
passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}"
if [ -n "$passwords_file" ]; then
  mkdir -p "$(dirname "$passwords_file")"
  python - "$passwords_file" <<'PY'
import json, os, sys
users = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
name = users.split(",")[0].split(":")[0].strip()
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({name: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
PY
  chmod 600 "$passwords_file"
  if [ "$(id -u)" = 0 ]; then chown "${AIRFLOW_UID:-50000}:0" "$passwords_file"; fi
  echo "schoolnet init: admin password written to $passwords_file"
fi

echo "schoolnet init: migrating the warehouse"
# Outside a task, the connection is read from the environment rather than Airflow's database.
AIRFLOW_CONN_SCHOOLNET_WAREHOUSE="$WAREHOUSE_CONN" schoolnet db upgrade
echo "schoolnet init: done"
