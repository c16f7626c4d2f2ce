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
MARIADBD := $(firstword $(wildcard /usr/sbin/mariadbd /usr/bin/mariadbd /usr/local/bin/mariadbd))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PYTEST_ARGS ?=

export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: help bootstrap venv jars mariadb test demo lint format bench spark-zip clean distclean

help:
	@echo "make demo   - run the whole pipeline locally (bootstraps everything first)"
	@echo "make test   - the test suite CI runs"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - benchmarks under bench/, printing their figures"
	@echo "make jars   - fetch the Delta and S3A jars into jars/ with Maven"
	@echo "make spark-zip - build dist/spark_jobs.zip, dist/conf.zip and dist/main.py for EMR"
	@echo "make clean  - remove the local lake, jars and caches (keeps .venv); distclean removes .venv"

bootstrap: venv jars mariadb

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,dev,airflow]'
	@touch $@

jars: $(JARS_STAMP)
$(JARS_STAMP): build/pom.xml
	@command -v mvn >/dev/null || { echo "Maven (mvn) is required: apt-get install maven"; exit 1; }
	mvn --batch-mode --quiet -f build/pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=$(abspath jars) -DincludeScope=runtime
	@touch $@

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

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

spark-zip: venv
	$(PY) build/package.py dist

bench: bootstrap
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	-@[ -x $(VENV)/bin/lakehouse ] && $(VENV)/bin/lakehouse mysql down >/dev/null 2>&1 || true
	rm -rf lake jars build/target dist .pytest_cache .ruff_cache .pytest-report.xml
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
