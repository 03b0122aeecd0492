"""The machinery that executes and renders the book (``python -m rlbits``); no chapter imports it.

``rlbits`` has two halves. The science (``rlbits.info``, ``rlbits.learners``, ...) and the small chapter-facing API
live at the top level, because a chapter imports them; this subpackage holds what runs the chapters and builds the
HTML. Only the back-matter pages reach into it, for what they report about the build (:mod:`.ledger`,
:mod:`.environment`).

How a build flows
=================

``python -m rlbits build [-j N] [--force] [--out OUT]`` (``make book``) runs ``rlbits/__main__.py``, which calls
:func:`rlbits.pipeline.cli.main`. Every file it writes is under ``OUT/_build/`` (``OUT`` is the repository root
unless ``--out`` says otherwise); each step reuses its last result when its inputs did not change.

1. **Benchmark.** :func:`.cli._bench_if_changed` runs :func:`.bench.main` (the event engine against the per-sample
   reference) unless ``bench.json`` was measured on this machine from the same sources: writes ``bench.json`` (and
   its key in ``cache/bench.json``) and deletes ``bench_mlp_lm.json``, so the Performance page measures chapter 14's
   training step anew.
2. **Which pages.** :func:`.book.chapter_sources` reads ``_toc.yml`` and keeps the MyST files whose front matter has a
   jupytext header (:func:`.book.is_notebook`).
3. **Chapters** (wave 1). :func:`.book.execute_all` runs each chapter in a worker process (``-j N`` at a time;
   :func:`.book._worker_init` points ``RLBITS_BUILD`` at this build) through :func:`.execute.execute_chapter`:

   a. *MyST source -> notebook*: ``jupytext.reads(text, fmt="md:myst")``; ``-p`` overrides are checked against the
      cell tagged ``parameters`` (:func:`.execute.check_parameters`, :func:`.execute.overrides_of`);
   b. *reuse*: when :func:`.execute.cache_key` (the chapter's text, every ``rlbits`` source, ``requirements.txt``,
      ``data/claims.yml``, the parameters) matches ``cache/NAME.json``, the last run is kept;
   c. *papermill*: ``papermill.execute_notebook`` in a fresh kernel from :func:`.kernels.kernel_manager_class`
      (IPC sockets, output to ``logs/NAME.kernel.log``, dies with its parent; on Linux, in a worker with two
      chapters or more, forked from a warm server that has already imported the heavy libraries,
      :mod:`.warmkernel`), the repository root as working directory, into a scratch directory under ``tmp/``;
   d. *executed notebook*: :func:`.execute.normalise` removes what varies between runs, and
      :func:`.execute.missing_glue` fails the run on a glue key the prose cites but the run did not record; a failed
      run is kept as ``failed/NAME.ipynb`` and reported as ``chapters/NAME.md:LINE`` (:func:`.execute.locate_error`);
   e. *results JSON*: :func:`.execute.extract_results` reads every glued scalar (what the chapter passed to
      :func:`rlbits.record`) out of the notebook; ``notebooks/NAME.ipynb``, ``results/NAME.json`` and
      ``cache/NAME.json`` are renamed into place together, and a default run (no overrides) also writes
      ``results/default/NAME.json``, the results the ledger reads (a reader run's ``results/NAME.json`` carries
      ``__overrides__`` instead).

   After the wave, :func:`.book._write_execution_table` updates ``execution.json`` and :func:`.book.record_timing`
   ``timing.json``.
4. **Ledger** (in every run that goes on to the back matter). :func:`.book.write_ledger` calls
   :func:`.ledger.write`: every claim's rule of ``data/claims.yml`` (:mod:`rlbits.verdicts`) is evaluated on
   ``results/default/*.json`` into ``results/ledger.json``. A chapter whose recorded verdict disagrees with its rule
   fails the build here, and the back matter is not executed.
5. **Back matter** (wave 2: ``chapters/backmatter/``), only when every chapter and the ledger succeeded. Its cache
   key adds :func:`.book._results_fingerprint` (every chapter's results, ``ledger.json``, ``bench.json``), so it
   re-runs whenever what it reads changed. The claims ledger page lays out ``ledger.json``
   (:func:`.ledger.read_json`); the Performance page reads ``bench.json`` and measures into ``bench_mlp_lm.json``;
   the Reproducibility page reads ``execution.json`` and ``timing.json`` (:mod:`.environment`).
6. **Render.** :func:`.book.render` stages the book in ``src/`` (:func:`.book.stage`: executed notebooks in place of
   the MyST files, a download box, a map from cells to MyST lines), skips the render when the staged tree is
   unchanged (:func:`.book._tree_key`), and runs ``jupyter-book build --warningiserror --nitpick`` into
   ``render.PID/``: every Sphinx warning fails the render, reported at the MyST file's line
   (:func:`.book._map_warning`), with the whole log in ``render.log``. Inside Sphinx, :mod:`.sphinxext` adds the
   author-year bibliography and figure widths and prunes MathJax and theme files. A successful render replaces
   ``html/``, with the size of the site in ``site_size.json``; a failed one leaves the last good ``html/``.

``python -m rlbits run`` is steps 2-5 (every page when none is named; else the pages named, plus the back matter
if it was already executed into this build), ``render`` is step 6 and ``bench`` step 1. ``python -m rlbits sweep``
(:mod:`.sweep`) runs :func:`.execute.execute_chapter` once per parameter setting on Dask workers, into
``sweeps/<chapter>/<point>/``, with one table per sweep (``sweeps/<name>.csv``, ``.json``) and
``sweeps/last-sweep.json``. ``python -m rlbits compare OLD NEW`` (:mod:`.compare`) says whether two builds agree on
every number the book prints.

``_build/`` at a glance: ``bench.json``, ``bench_mlp_lm.json``, ``notebooks/``, ``results/`` (with ``default/`` and
``ledger.json``; a chapter may therefore not be named ``ledger``), ``cache/``, ``logs/``, ``failed/``, ``tmp/``,
``execution.json``, ``timing.json``, ``src/``, ``html/``, ``render.log``, ``site_size.json``, ``sweeps/`` (layout
in :mod:`.book` and :mod:`.sweep`).

Modules
=======

:mod:`.cli` (the command line), :mod:`.book` (the whole book: waves, ledger step, staging, render),
:mod:`.execute` (one chapter), :mod:`.kernels` (kernels over IPC that die with the build), :mod:`.warmkernel`
(kernels forked from a server that has imported the heavy libraries), :mod:`.compare` (two builds, to the printed
digits), :mod:`.ledger` (the claims
ledger), :mod:`.bench` (the engine benchmark; Performance page), :mod:`.environment` (what the Reproducibility page
reports), :mod:`.sweep` (grids and declared settings on Dask), :mod:`.sphinxext` (the book's Sphinx extension).

What stays at the top level, and why
====================================

A chapter author imports these; the pipeline only reads what they leave in the executed notebook:

- ``rlbits.setup_chapter`` and :mod:`rlbits.plotting`: every chapter's first cell and its figures (the Sphinx
  extension reads the plotting module's sizes, not the other way round);
- :mod:`rlbits.results` (``record``; ``build_dir`` and ``load_results`` for back-matter pages): the one call that
  puts a number in the prose and in the results file, run inside the chapter's kernel;
- :mod:`rlbits.verdicts` (``decide``): a chapter decides its claims with it; the ledger evaluates the same rules;
- :mod:`rlbits.validate`: every chapter's parameter checks, and the science modules' argument checks.
"""
