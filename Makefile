# reelhouse — two commands on a fresh machine with Java 17 and Python 3.11:
#   make demo   install everything, generate a synthetic week, run the nightly pipeline, print the tables
#   make test   install everything and run the test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)
# the JVM jars from Maven Central (jars/pom.xml: Delta Lake for lake.engine delta-spark), on Spark's classpath
JARS_DIR := $(VENV)/jars
JARS_STAMP := $(JARS_DIR)/.installed-$(shell cat jars/pom.xml scripts/jars.sh requirements.lock | sha1sum | cut -c1-12)
export REELHOUSE_SPARK_LOG_LEVEL ?= ERROR
export GX_ANALYTICS_ENABLED ?= False
export DO_NOT_TRACK ?= 1

.PHONY: install jars services services-stop objectstore objectstore-stop cluster cluster-stop airflow airflow-stop demo test test-deployment ci test-unit bench lock check-java clean

check-java:
	@command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ] || { \
	  echo "reelhouse needs Java 17 for Spark. Install it: apt-get install openjdk-17-jre-headless (Debian/Ubuntu) or brew install openjdk@17 (macOS)." >&2; exit 1; }
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "reelhouse needs Python 3.11 ($(PYTHON) not found; set PYTHON=/path/to/python3.11)." >&2; exit 1; }

$(STAMP): pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory check-java
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,delta-spark,airflow-postgres]"
	@rm -f $(VENV)/.installed-* && touch $@

# Maven Central, once per jars/pom.xml (and pyspark) version; offline afterwards
$(JARS_STAMP): jars/pom.xml scripts/jars.sh requirements.lock | $(STAMP)
	@scripts/jars.sh $(BIN)/python $(JARS_DIR)
	@touch $@

jars: $(JARS_STAMP)

install: $(STAMP) $(JARS_STAMP)

# Debian packages (redis-server, postgresql, headless Chromium, fonts), SeaweedFS's weed (built from
# Go's module proxy into .tools/bin/), then Redis on 127.0.0.1:6379, PostgreSQL on :5432 and the
# S3-compatible object store on :8333 — idempotent. The tests need them; make demo does not.
services:
	@scripts/services.sh packages
	@scripts/services.sh start

services-stop:
	@scripts/services.sh stop

# The S3-compatible object store alone (SeaweedFS on 127.0.0.1:8333, buckets reelhouse-landing and
# reelhouse-lake; REELHOUSE_ENV=objectstore points the lake at it). Key pair: REELHOUSE_S3_ACCESS_KEY /
# REELHOUSE_S3_SECRET_KEY, local-development defaults in scripts/services.sh.
objectstore:
	@scripts/services.sh start objectstore

objectstore-stop:
	@scripts/services.sh stop objectstore

# A Spark standalone cluster on loopback, from the Spark inside pyspark: master spark://127.0.0.1:7077
# (UI :8090 — 8080 is Airflow's —, or the next free ports when taken) and two workers of 1 core and 4g;
# executors run this venv's Python. Not part of `make services`. State and logs in
# REELHOUSE_SPARK_DIR (/var/tmp/reelhouse-spark); the workers get REELHOUSE_* / AWS_* from the environment.
cluster:
	@REELHOUSE_PYTHON=$(abspath $(BIN))/python scripts/services.sh start spark

cluster-stop:
	@scripts/services.sh stop spark

# A local Airflow deployment: PostgreSQL metadata DB, LocalExecutor, api-server + scheduler +
# dag-processor + triggerer (README "In Airflow"). REELHOUSE_ENV / REELHOUSE__* reach every component.
airflow: install services
	@VENV_BIN=$(CURDIR)/$(BIN) scripts/airflow.sh start

airflow-stop:
	@VENV_BIN=$(CURDIR)/$(BIN) scripts/airflow.sh stop

demo: install
	$(BIN)/reelhouse demo

# the suite (about 20 minutes on 2 cores): everything but the deployment matrix
test: install services
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q --timeout=1800 --durations=20 -m "not deployment"

# the deployment matrix (about 35 minutes): the nightly on the Spark standalone cluster + object
# store + delta-spark against the embedded run, the real Airflow scheduler, delta-spark's contract
# cases and the engines' equality; starts the cluster (make cluster) when it is not up
test-deployment: install services cluster
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q --timeout=3600 --durations=20 -m deployment

# what CI runs (.ci/run): both, the suite first
ci: test test-deployment

test-unit: install services
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -m "not integration"

bench: install
	$(BIN)/python bench/bench_ingest.py

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^reelhouse' > requirements.lock.new
	@( echo '# Locked versions of every package reelhouse installs (pip constraints file).'; \
	   echo '# Regenerate after changing pyproject.toml: make lock'; cat requirements.lock.new ) > requirements.lock && rm requirements.lock.new

clean:
	rm -rf data/ .pytest_cache spark-warehouse
