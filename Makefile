# Two targets do all the set-up on a fresh machine (Python 3.11+ with venv):
#   make quickstart   install, then run the offline default suite and print its leaderboard
#   make test         install with test extras and the example plugins, then run the tests: two at a
#                     time (pytest-xdist), then the ones that start Ray, alone; not the heavy
#                     end-to-end runs marked `slow` (make test-slow: CI runs both, .ci/run)
#   make docs         install, then build the documentation site into site/ (strict; open site/index.html)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The example third-party plugins, installed as a user installs a plugin from PyPI (not editable).
PLUGINS := $(wildcard plugins/automl-bench-*)
PLUGIN_FILES := $(shell find plugins -type f -not -path '*/__pycache__/*' -not -path '*.egg-info*' -not -path '*/build/*')

# Data sets from Debian that work offline: Fashion-MNIST, fortunes, and the word lists of `languages`.
DEBIAN_DATA := dataset-fashion-mnist fortunes wamerican wfrench wngerman witalian wspanish wdutch

.PHONY: quickstart test test-slow docs docs-build install debian-data clean

quickstart: $(STAMP) debian-data
	$(BIN)/bench run suites/quickstart.toml

test: $(STAMP) debian-data
	$(BIN)/ruff check automl_bench devtools tests benchmarks plugins
	$(BIN)/python -m pytest -m "not serial and not slow"
	$(BIN)/python -m pytest -m "serial and not slow" -n 0

# The heavy end-to-end runs with real training (marked `slow`): CI runs them after `make test`.
test-slow: $(STAMP) debian-data
	$(BIN)/python -m pytest -m "slow and not serial"

# The site: the generated reference pages must match the code (python -m devtools.reference
# rewrites them), then MkDocs in strict mode (a broken link or a page left out fails).
docs: $(STAMP)
	$(MAKE) docs-build

docs-build:
	$(BIN)/python -m devtools.reference --check
	$(BIN)/python -m mkdocs build --strict

install: $(STAMP)

$(STAMP): pyproject.toml $(PLUGIN_FILES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,ray,text,test,docs]'
	$(BIN)/python -m pip install --quiet $(PLUGINS)
	touch $(STAMP)

# Installed with apt-get when run as root on Debian or Ubuntu; elsewhere, say what is missing and go on
# (fashion-mnist then downloads once; `languages` stays unavailable).
debian-data:
	@if dpkg -s $(DEBIAN_DATA) >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian data packages: $(DEBIAN_DATA)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_DATA) >/dev/null; \
	else \
		echo "note: Debian data packages not installed ($(DEBIAN_DATA)); as root: apt-get install -y $(DEBIAN_DATA)"; \
	fi

clean:
	rm -rf $(VENV) results site
