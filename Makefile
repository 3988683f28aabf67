# Two entry points for a fresh machine with Python 3.11+:
#   make demo   install into .venv and run the demo
#   make test   install the locked test environment into .venv and run every check CI runs
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo-output

.PHONY: demo test install install-test install-latest lint docs pytest notebooks bench \
	bench-quick bench-core fuzz clean wheel lock test-latest test-slow typecheck system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# --compile-bytecode: as pip does, so that imports load .pyc files instead of compiling
# sources in every new process (slower, and more memory at import)
UV_INSTALL := $(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode

install: $(BIN)/python
	$(UV_INSTALL) -e ".[all]"

# multiscale-spatial-image 2.1.0 pins dask, xarray and ngff-zarr below this project's
# versions but runs with them; installed without its pins so that the test of stores it
# writes runs live (tests/io/omezarr/test_read.py).
MSI := multiscale-spatial-image==2.1.0 spatial-image==1.2.3 xarray-dataclass==3.0.0

# The test environment is the lock file: the same versions on every run, until `make lock`
# is run again (after changing dependencies in pyproject.toml, or when `make test-latest`
# shows that newer releases behave differently). Python 3.11, Linux x86-64.
LOCK := requirements/test.lock

# `make lock` keeps every pin that still fits pyproject.toml (after a dependency change);
# `make lock UPGRADE=1` moves every package to its newest release.
lock: $(BIN)/python
	$(BIN)/uv pip compile pyproject.toml --extra all --extra test --extra docs \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make lock" --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)

# tests/plugins/toyformat: a third-party format package whose entry point the registry tests load
install-test: $(BIN)/python
	$(BIN)/uv pip sync --python $(BIN)/python --quiet --compile-bytecode $(LOCK)
	$(UV_INSTALL) --no-deps -e .
	$(UV_INSTALL) --no-deps $(MSI)
	$(UV_INSTALL) --no-deps -e tests/plugins/toyformat

# the newest releases of every dependency, in a separate environment
install-latest: $(BIN)/python
	$(UV_INSTALL) --upgrade --refresh -e ".[all,test,docs]"
	$(UV_INSTALL) --no-deps $(MSI)
	$(UV_INSTALL) --no-deps -e tests/plugins/toyformat

demo: install
	$(BIN)/spatial-xr demo $(OUT)

lint:
	$(BIN)/ruff check .

# the test suite, then the examples in the package's docstrings
pytest:
	$(BIN)/python -m pytest -n 2 --dist loadfile --require-test-extra
	$(BIN)/python -m pytest -p no:xdist --doctest-modules spatial_xr

docs:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

typecheck:
	$(BIN)/mypy

# Debian packages some tests use (servers, a virtual screen): .ci/system-packages.txt
system-deps:
	bash .ci/install-system-packages

test: system-deps install-test
	$(MAKE) lint
	$(MAKE) typecheck
	$(MAKE) pytest
	$(MAKE) docs

# every slow test (fuzzing, large inputs, the out-of-core memory test), one process
test-slow: system-deps install-test
	$(BIN)/python -m pytest -m slow -p no:xdist --require-test-extra

# the same suite against the newest releases (no lock), in .venv-latest
test-latest:
	$(MAKE) VENV=.venv-latest install-latest pytest

bench: install-test
	$(BIN)/python -m benchmarks

bench-quick: install-test
	$(BIN)/python -m benchmarks --quick

# resampling measured in a core install (no optional extras; SimpleITK for the peer)
CORE := .venv-core
bench-core: install-test
	test -x $(CORE)/bin/python || $(PYTHON) -m venv $(CORE)
	$(CORE)/bin/python -m pip install --quiet --upgrade pip uv
	$(CORE)/bin/uv pip install --python $(CORE)/bin/python --quiet --compile-bytecode -e . SimpleITK
	$(BIN)/python -m benchmarks --only 'resample to 1 mm*' --python $(CORE)/bin/python

# sdist and binary wheel (cp311-abi3-<platform>: one wheel for every CPython >= 3.11) in
# dist/; the wheel is built from the sdist, so nothing stale in the checkout is packaged
wheel: $(BIN)/python
	rm -rf dist
	$(BIN)/uv build --out-dir dist

clean:
	rm -rf $(VENV) .venv-latest $(CORE) build dist site .pytest_cache .ruff_cache $(OUT)
