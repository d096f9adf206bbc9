# The book's two commands: `make book` and `make test`. Each sets up .venv by itself.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONHASHSEED := 0
# Python caches compiled modules (.pyc) unless PYTHONDONTWRITEBYTECODE is set, as it is on
# some machines (this book's CI among them). Without the cache every kernel, every measuring
# subprocess and every test process compiles torch, transformers and AutoGluon again: 35 s
# instead of 13 s for `import autogluon.multimodal` on 2 cores, and a fit twice as long.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install book test lint format unit-tests book-checks notebooks-checked \
	rehearsal mirror chapter workshop clean \
	nbval-xl-then-xxl

install: $(STAMP)

# Reinstall only when the pins or the package metadata change. torch comes first, alone
# (with uv, which has no dependencies): `pip install torch==2.13.0` takes the CPU build;
# resolving it among other packages could pull the CUDA build and gigabytes of CUDA
# libraries. The other pinned packages go in with uv (pinned below): 17 s on 2 cores where
# pip took 105 s, the same 235 packages at the same versions. uv reads no pip
# configuration, so it is given the folders of wheels pip is configured with
# (PIP_FIND_LINKS, or find-links in pip.conf: where a machine keeps torch's CPU build);
# GitHub's workflow sets uv's own variables for PyTorch's CPU index. Neither compiles the
# modules (.pyc): Python compiles those that are imported, when first imported.
UV := uv==0.13.10
FIND_LINKS := $${PIP_FIND_LINKS:-$$(python3 -m pip config get global.find-links 2>/dev/null)}
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile torch==2.13.0 $(UV)
	$(VENV)/bin/uv pip install --quiet --python $(PY) \
		$$(for links in $(FIND_LINKS); do echo --find-links "$$links"; done) \
		-c constraints.txt -r requirements.txt
	$(PY) -m pip install --quiet --no-compile --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

# Build the HTML book. Notebooks are committed with the outputs of a tiny-profile run;
# Jupyter Book executes none of them (execute_notebooks: "off" in _config.yml).
book: install
	$(VENV)/bin/jupyter-book build . -W --keep-going
	@echo "Open the book: file://$(CURDIR)/_build/html/index.html"

# Everything, on a fresh machine too: Chromium for the browser check (installed when
# missing, beside the environment's install; where it cannot be, stops at once with the
# command to run), the environment, lint, then CHECKS two at a time, one per core: the
# unit tests; the book's strict build with its static site check (no resource from another
# host, no broken internal link or anchor, every page in the navigation) and real-browser
# check (headless Chromium; screenshots in _build/screenshots); and nbval over each
# notebook, in a fresh kernel. Each job has one core, so each trains with one torch
# thread: two threads beside another job made chapter 1 take 7 minutes (its threads wait
# on each other for a shared core) against 2 alone. Make starts the jobs in the order of
# CHECKS as a core comes free: chapter 4's fits (the longest) on one core; on the other
# chapters 3 and 6 as one job, one after the other, so that the two builds of FLAN-T5-XL
# and -XXL (9 to 11 GiB each) never share the 24 GiB, then the unit tests; the other
# notebooks and the book's checks last. A failed check stops none of the others. Ends with
# a timing summary, also when a step fails.
TIMED := python3 -m tests.timing
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb)) book/workshop.ipynb
XL := notebooks/03_flan_t5_xl_checkpointing.ipynb
XXL := notebooks/06_flan_t5_xxl_16_bit.ipynb
LONGEST := notebooks/04_peft_shootout.ipynb
CHECKS := nbval/$(LONGEST) nbval-xl-then-xxl unit-tests \
	$(addprefix nbval/,$(filter-out $(LONGEST) $(XL) $(XXL),$(NOTEBOOKS))) book-checks
NBVAL := PEFT_BOOK_PROFILE=tiny $(PY) -m pytest -p tests.timing -p tests.nbval_numbers --nbval \
	--nbval-current-env \
	--nbval-sanitize-with tests/sanitize.cfg
test:
	@$(TIMED) reset
	@trap '$(TIMED) summary' EXIT; set -e; \
	tests/ensure_browser.sh --check; \
	$(TIMED) run "Chromium for the browser check" -- tests/ensure_browser.sh \
		> _build/chromium-install.log 2>&1 & browser=$$!; \
	$(TIMED) run "install (.venv)" -- $(MAKE) --no-print-directory install; \
	wait $$browser || { cat _build/chromium-install.log; exit 1; }; \
	$(TIMED) run "lint and format (ruff, nbqa)" -- $(MAKE) --no-print-directory lint; \
	OMP_NUM_THREADS=1 $(MAKE) --no-print-directory --jobs=2 --keep-going --output-sync=target \
		$(CHECKS)

# nbval over one notebook: make nbval/notebooks/02_ia3_bias.ipynb
nbval/%: install
	$(NBVAL) $*

# chapters 3 and 6 in one job, one after the other (within make test)
nbval-xl-then-xxl: install
	$(NBVAL) $(XL) $(XXL)

# nbval over NOTEBOOKS (default: all, one after another; tests/kernel_paths.py passes one
# at a time).
notebooks-checked: install
	$(NBVAL) $(NOTEBOOKS)

# ruff for helpers/ and tests/, nbqa + ruff for the notebooks (settings in pyproject.toml;
# .pre-commit-config.yaml runs the same). `make format` fixes what can be fixed. Notebook
# code is 75 characters wide: the rendered code column at a 1280-px window with an
# ordinary scrollbar is 672 px, and a 77-character line needs 681 (the browser check
# measures it, folded cells opened; book/_static/folded-cells.css makes them as wide).
PAGE_WIDTH := --line-length 75
lint: install
	$(VENV)/bin/ruff check helpers tests book/_ext peft_book_colab.py
	$(VENV)/bin/ruff format --check --quiet helpers tests book/_ext peft_book_colab.py
	$(VENV)/bin/nbqa "ruff check --quiet --extend-ignore=E402 $(PAGE_WIDTH)" notebooks
	$(VENV)/bin/nbqa "ruff format --check --quiet $(PAGE_WIDTH)" notebooks
	$(VENV)/bin/nbqa "ruff check --quiet $(PAGE_WIDTH)" book/workshop.ipynb
	$(VENV)/bin/nbqa "ruff format --check --quiet $(PAGE_WIDTH)" book/workshop.ipynb

format: install
	$(VENV)/bin/ruff check --fix --exit-zero --quiet helpers tests book/_ext peft_book_colab.py
	$(VENV)/bin/ruff format --quiet helpers tests book/_ext peft_book_colab.py
	$(VENV)/bin/nbqa "ruff check --fix --exit-zero --quiet --extend-ignore=E402 $(PAGE_WIDTH)" notebooks
	$(VENV)/bin/nbqa "ruff format --quiet $(PAGE_WIDTH)" notebooks
	$(VENV)/bin/nbqa "ruff check --fix --exit-zero --quiet $(PAGE_WIDTH)" book/workshop.ipynb
	$(VENV)/bin/nbqa "ruff format --quiet $(PAGE_WIDTH)" book/workshop.ipynb

unit-tests: install
	PEFT_BOOK_PROFILE=tiny $(PY) -m pytest -p tests.timing tests

book-checks: install
	$(TIMED) run "book build" -- $(MAKE) --no-print-directory book
	$(TIMED) run "site check" -- $(PY) -m tests.check_site _build/html
	$(TIMED) run "browser check" -- $(PY) -m tests.browser_check _build/html

# The full profile, rehearsed offline on any CPU in Colab's conditions: a stand-in mirror
# (generated reviews in the real archive's layout, small random-init models under the real
# ids) and helpers installed from a wheel, then every chapter and the workshop guide executed
# with PEFT_BOOK_PROFILE=full against it, each alone in an empty folder with a fresh kernel,
# its peak RAM shown next to Colab's 12.7 GiB. A subset: make rehearsal ONLY="01 05".
rehearsal: install
	$(PY) -m tests.rehearsal $(if $(ONLY),--only $(ONLY))

# Fill a mirror folder with everything the full profile downloads (needs internet):
#   make mirror MIRROR=/path/to/folder      then: export PEFT_BOOK_MIRROR=/path/to/folder
mirror: install
	@test -n "$(MIRROR)" || { echo "usage: make mirror MIRROR=/path/to/folder"; exit 2; }
	env -u PEFT_BOOK_MIRROR -u HF_HUB_OFFLINE $(PY) -m tests.fill_mirror "$(MIRROR)"

# Re-run chapters in place, as their committed outputs are made (tiny profile, a fresh
# kernel each), recording each one's peak RAM in its metadata: make chapter NB=notebooks/02_ia3_bias.ipynb
chapter: install
	$(PY) -m tests.run_chapter $(NB)

# Re-run the workshop guide in place after a chapter was re-run: its agenda and answers
# are computed from the chapters' committed runs and recorded results.
workshop: install
	cd book && PEFT_BOOK_PROFILE=tiny ../$(PY) -c "import nbformat; from nbclient import NotebookClient; \
		nb = nbformat.read('workshop.ipynb', 4); \
		NotebookClient(nb, kernel_name='python3', resources={'metadata': {'path': '.'}}).execute(); \
		nbformat.write(nb, 'workshop.ipynb')"

# _build is the book's build folder: it holds only what the commands above write there.
clean:
	rm -rf _build

# The GPU claims, checked on a lent CUDA machine in at most 8 minutes (tests/gpu_check.py
# says what and how): needs no .venv there; installs .gpu-wheels (make gpu-wheels, here)
# with --no-deps --target when AutoGluon is missing. GPU_CHECK_ARGS="--smoke": the CPU
# smoke mode. Writes _build/gpu-check/gpu_check.{json,md}; fails on a failed claim.
.PHONY: gpu-check gpu-wheels
GPU_PY := $(if $(wildcard $(PY)),$(PY),python3)
GPU_WHEELS := .gpu-wheels
GPU_SITE := /tmp/peft-book-gpu-site
gpu-check:
	@if [ -d $(GPU_WHEELS) ] && ! $(GPU_PY) -c "import importlib.util as u, sys; \
		sys.exit(u.find_spec('autogluon.multimodal') is None)"; then \
		$(GPU_PY) -m pip install -q --no-index --no-deps --no-compile --target $(GPU_SITE) \
			$(GPU_WHEELS)/*.whl; fi
	PYTHONPATH=$(GPU_SITE)$${PYTHONPATH:+:$$PYTHONPATH} PYTHONUNBUFFERED=1 \
		$(GPU_PY) -m tests.gpu_check $(GPU_CHECK_ARGS)

# What the GPU machine lacks (Python 3.12, x86-64), pinned as in constraints.txt, into the
# ignored .gpu-wheels/ (about 24 MiB): one pip download of the wheels, and a wheel built
# from the one package PyPI has as source only (pure Python, omegaconf's parser runtime).
# The folder is emptied first only if the book made it (helpers.cache.owned_folder): a
# GPU_WHEELS=<folder> that holds anything else is refused.
gpu-wheels: install
	$(PY) -c "import sys; from helpers.cache import owned_folder; \
		owned_folder(sys.argv[1], empty=True)" "$(GPU_WHEELS)"
	$(PY) -m pip download --quiet --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
		--only-binary=:all: --no-deps -d $(GPU_WHEELS) \
		$$($(PY) -m tests.gpu_check --print-wheels)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w $(GPU_WHEELS) \
		antlr4-python3-runtime==$$(grep -i '^antlr4-python3-runtime==' constraints.txt | cut -d= -f3)
	@ls $(GPU_WHEELS) | wc -l | xargs echo "wheels:"; du -sh $(GPU_WHEELS)
