"""Fixtures of the browser tests, defined in ``lab_helpers``: one Chromium and one plain JupyterLab per module."""

from tests.integration.lab_helpers import browser, jupyterlab  # noqa: F401  (fixtures)
