"""Headless Chromium for the browser tests, through Debian's ``chromium`` and ``chromium-driver``."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest
from ci_skips import skip_server_missing
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@contextlib.contextmanager
def headless_chromium(purpose: str, *arguments: str, logs: bool = False) -> Iterator[webdriver.Chrome]:
    """A headless Chromium started with ``arguments`` (and the browser console's log kept if ``logs``), quit on
    exit; the calling test skips, naming ``purpose``, where Chromium or its driver is not installed."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (os.access(chromium, os.X_OK) and os.access(chromedriver, os.X_OK)):
        skip_server_missing(f"Chromium or its driver, for {purpose}: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", *arguments):
        options.add_argument(argument)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as env:
        # Selenium talks to chromedriver on loopback over HTTP: a proxy from the environment must not get it.
        for var in PROXY_VARIABLES:
            env.delenv(var, raising=False)
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield driver
    finally:
        driver.quit()
