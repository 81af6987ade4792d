"""Under ``CI=true`` a skipped test fails the run, unless it skipped because a server program is missing.

Every end-to-end test can run on any machine (the tests fetch MNIST themselves), so a skip in CI means a
test that did not run where it should have. The one accepted reason is an external server program (OpenSSH's
``sshd``, SeaweedFS's ``weed``) that could not be installed; such tests skip through :func:`skip_server_missing`,
which says so.
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
        reason = skip_reason(report)
        if not reason.startswith(SERVER_MISSING):
            report.outcome = "failed"
            report.longrepr = (f"skipped under CI=true, where only a missing server program may skip a test: "
                               f"{reason}")
