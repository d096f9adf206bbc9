"""The book's tests, a package so that ``python -m tests.check_site`` and
``python -m tests.browser_check`` find these modules: a dependency (model-index) installs a
top-level ``tests`` package into site-packages, which would otherwise shadow this folder."""
