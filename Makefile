# One entry point for a newcomer: `make dev` runs the local system, `make test` the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= .data
EMULATOR_PORT ?= 8090
PORT ?= 8080

.PHONY: help venv dev emulator demo test check lint types fmt clean bench extension extension-test package deploy-dry-run smoke backup chaos admin openapi

help:
	@echo "make dev       run the local system: gateway on :$(PORT), WeChat Pay emulator on :$(EMULATOR_PORT), SQLite"
	@echo "make demo      one whole purchase against the running local system"
	@echo "make emulator  run only the WeChat Pay APIv3 emulator"
	@echo "make test      install what is needed and run the whole test suite"
	@echo "make check     lint + types + tests"
	@echo "make chaos     purchases under injected faults, then the money invariants; CHAOS_ARGS=\"--purchases 300 --seed 7\""
	@echo "make bench     cold starts, warm latency vs floors, throughput, sizes; fails when a budget is missed"
	@echo "make package   build/packages/<function>.zip for FC 3.0 / SCF (CPython 3.10 wheels); fails over budget"
	@echo "make deploy-dry-run  validate s.yaml and template.yaml offline (docs/deploy.md)"
	@echo "make smoke     a whole purchase against BASE_URL (default: the running make dev, paid by its emulator)"
	@echo "make backup    back up STORAGE_URL to the BACKUP_* bucket now; BACKUP_ARGS=\"list\" (or verify/restore --run ID)"
	@echo "make admin     the operators' CLI: ARGS=\"keys create --name NAME --role operator\", ARGS=\"orders --status PAID\"..."
	@echo "make openapi   regenerate shared/api/openapi.json (served at GET /v1/openapi.json) from shared/api's models"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

dev: $(STAMP)
	DATA_DIR=$(DATA_DIR) PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) $(BIN)/python -m scripts.dev

demo: $(STAMP)
	PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) $(BIN)/python -m scripts.demo

emulator: $(STAMP)
	DATA_DIR=$(DATA_DIR) EMULATOR_PORT=$(EMULATOR_PORT) $(BIN)/python -m emulator serve

test: $(STAMP)
	$(BIN)/python -m pytest
	cd extension && node --test

# The browser extension: `make extension` builds extension/dist against the running `make dev` (its keys are read
# from /v1/licenses/keys at build time); EXTENSION_ENV=production uses extension/config/production.json as is.
EXTENSION_ENV ?= local
extension:
	node extension/build.mjs --env $(EXTENSION_ENV) --out extension/dist \
	  $(if $(filter local,$(EXTENSION_ENV)),--fetch-keys --api-base http://127.0.0.1:$(PORT))

extension-test: $(STAMP)
	cd extension && node --test
	$(BIN)/python -m pytest tests/browser -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint types test

bench: $(STAMP)
	$(BIN)/python -m scripts.bench $(BENCH_ARGS)

# The chaos run (scripts/chaos): exit status 1 when any money invariant is violated; the seed is printed.
CHAOS_ARGS ?= --purchases 300
chaos: $(STAMP)
	$(BIN)/python -m scripts.chaos $(CHAOS_ARGS)

# Backups (README "Backups"): settings from the environment, never from the command line.
backup: $(STAMP)
	$(BIN)/python -m scripts.backup $(or $(BACKUP_ARGS),backup)

# The operators' CLI (docs/admin.md, docs/operations.md): the admin key comes from ADMIN_API_KEY in the environment,
# never from ARGS (the command line lands in shell history).
admin: $(STAMP)
	$(BIN)/python -m scripts.admin $(or $(ARGS),--help)

# Deployment (docs/deploy.md): packages, the offline check of both templates, a purchase against a deployment.
BASE_URL ?= http://127.0.0.1:$(PORT)
package: $(STAMP)
	$(BIN)/python -m scripts.package $(PACKAGE_ARGS)

deploy-dry-run: $(STAMP)
	$(BIN)/python -m scripts.deploy --dry-run

smoke: $(STAMP)
	$(BIN)/python -m scripts.smoke $(BASE_URL) $(if $(SMOKE_ARGS),$(SMOKE_ARGS),--pay-with-emulator http://127.0.0.1:$(EMULATOR_PORT))

# The API description: generated from shared/api's models, checked in, served by create_order; a test fails when stale.
openapi: $(STAMP)
	$(BIN)/python -m scripts.openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
