# Two entry points a new user needs: `make demo` (the example deployments on the embedded local AWS) and
# `make test` (the whole suite). Both create .venv from pyproject.toml the first time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
IMAGE_TAG ?= 1.1.0

.PHONY: demo test lint bench moto-suite clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/pytest deployments/ --env local --image-tag $(IMAGE_TAG) --ecsdeploy-report ecsdeploy-report.json
	$(BIN)/pytest examples/blue-green --env local --image-tag $(IMAGE_TAG)

test: $(BIN)/.installed
	$(BIN)/pytest tests/ -n 2 -p no:cacheprovider

bench: $(BIN)/.installed
	for script in startup rollout_time api_calls completion_latency failure_latency watch_cost many_services; do \
		$(BIN)/python bench/$$script.py || exit 1; \
	done

# moto's own ECS tests (of the installed moto version) against moto_server and against ecsdeploy-emulator: what
# passes on the first passes on the second, but for scripts/moto_ecs_exceptions.toml.
moto-suite: $(BIN)/.installed
	$(BIN)/python scripts/moto_ecs_suite.py

lint: $(BIN)/.installed
	$(BIN)/ruff check pytest_ecsdeploy tests bench scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache ecsdeploy-report.json
