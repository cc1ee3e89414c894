# Lineside: `make demo` runs the runtime on the simulated plant, `make test` runs every check.
# Targets create .venv when it is missing (or when pyproject.toml changed).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint broker clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m runtime.cli run --demo --console

test: $(STAMP) lint broker
	$(PY) -m pytest

# The sync and fault tests start real Mosquitto brokers: install it when we may (root with
# apt-get), else stop with the command to run.
broker:
	@PATH="$$PATH:/usr/sbin:/usr/local/sbin"; \
	if command -v mosquitto >/dev/null && command -v mosquitto_passwd >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing mosquitto: the tests start real MQTT brokers"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto; \
	else \
		echo "make test needs Mosquitto (the tests start real MQTT brokers); install it with:" >&2; \
		echo "    sudo apt-get install -y mosquitto" >&2; \
		exit 1; \
	fi

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
