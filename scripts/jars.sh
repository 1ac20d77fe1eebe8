#!/usr/bin/env bash
# The JVM jars reelhouse adds to pyspark's own, from Maven Central (jars/pom.xml), into one folder
# (default: <venv>/jars) that reelhouse.spark puts on Spark's classpath (spark.jars). Run by the
# Makefile's install step (`make jars`); idempotent, and nothing here runs at task run time.
#
#   scripts/jars.sh VENV_PYTHON OUT_DIR
#
# Copies every runtime dependency of jars/pom.xml whose artifact pyspark does not already ship
# (same artifact name in pyspark/jars/, whatever the version: Spark's own copy wins, so the
# classpath never holds two versions of one library). Installs Maven with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:?usage: scripts/jars.sh VENV_PYTHON OUT_DIR}"
OUT="${2:?usage: scripts/jars.sh VENV_PYTHON OUT_DIR}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac  # absolute: Maven resolves relative paths against jars/

if ! command -v mvn >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "jars: reelhouse needs Maven to fetch the Delta jars (install maven)" >&2; exit 1; }
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "jars: installing maven"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends maven >/dev/null
fi

SPARK_JARS="$("$PY" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp -d "${OUT%/}.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mvn -B -f jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$TMP/all" \
  >"$TMP/mvn.log" 2>&1 || { cat "$TMP/mvn.log" >&2; echo "jars: mvn failed (Maven Central unreachable?)" >&2; exit 1; }
mkdir -p "$TMP/jars"
artifact() { basename "$1" .jar | sed -E 's/-[0-9][0-9A-Za-z.+_-]*$//'; }
declare -A shipped=()
for j in "$SPARK_JARS"/*.jar; do shipped["$(artifact "$j")"]=1; done
kept=0
for j in "$TMP"/all/*.jar; do
  [ -n "${shipped[$(artifact "$j")]:-}" ] && continue
  cp "$j" "$TMP/jars/"; kept=$((kept + 1))
done
rm -rf "$OUT" && mv "$TMP/jars" "$OUT"
echo "jars: $kept jar(s) from jars/pom.xml in $OUT ($(du -sh "$OUT" | cut -f1))"
