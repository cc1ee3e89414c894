# Lineside: `make demo` runs the HMI on the demo runtime and the simulated plant, `make test` runs every check.
# Targets create .venv when it is missing, and reinstall when pyproject.toml or the lock file
# changed. Packages come from requirements.lock (exact versions for Python 3.11+ on Linux
# x86_64 and aarch64, among others); `make lock` refreshes it after pyproject.toml changed,
# `make lock LOCK_FLAGS=--upgrade` moves every package to its newest allowed version.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
EXTRAS := test,desktop,train
UV     := uv>=0.13,<0.14
LOCK_FLAGS ?=
comma  := ,

.PHONY: demo test bench lint broker qtlibs lock docs screenshots clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint $(LOCK) --editable '.[$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lineside --demo

test: $(STAMP) lint broker qtlibs
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

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

# The HMI's tests draw with Qt offscreen, which needs a few system libraries (EGL, OpenGL,
# xkbcommon, fontconfig, D-Bus, GLib) and a font: install them when we may, as for the broker.
QT_PROBE := from PySide6.QtWidgets import QApplication, QLabel; app = QApplication(["probe", "-platform", "offscreen"]); QLabel("x").grab()
QT_DEBS  := libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
qtlibs: $(STAMP)
	@if $(PY) -c '$(QT_PROBE)' >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Qt's system libraries: the HMI's tests draw offscreen"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(QT_DEBS); \
		$(PY) -c '$(QT_PROBE)'; \
	else \
		echo "make test needs Qt's system libraries for the HMI's tests; install them with:" >&2; \
		echo "    sudo apt-get install -y $(QT_DEBS)" >&2; \
		exit 1; \
	fi

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet '$(UV)'
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		$(foreach extra,$(subst $(comma), ,$(EXTRAS)),--extra $(extra)) \
		--quiet $(LOCK_FLAGS) --output-file $(LOCK)

# docs/project-format.md is generated from the schema and the node catalogue (a test fails
# when the committed file is stale).
docs: $(STAMP)
	$(PY) -m runtime.format_doc > docs/project-format.md.tmp
	mv docs/project-format.md.tmp docs/project-format.md
	$(PY) -m runtime.api.docs > docs/api.md.tmp
	mv docs/api.md.tmp docs/api.md

# Every page of the HMI from a real demo runtime, both themes, 1280x800 and 1920x1080.
screenshots: $(STAMP) qtlibs
	$(PY) -m app.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
