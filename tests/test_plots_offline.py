"""`dvc plots show` and `dvc plots diff` with no network: every Vega plot on the page draws, from the template that
`make` writes (``mnist_pipeline.tools.plots_page``) and ``.dvc/config`` names, opened in headless Chromium cut off from
the network; DVC's own page, built the same way, draws none (its scripts come from a CDN)."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser import headless_chromium
from dvc_render.html import PAGE_HTML
from helpers import REPO_ROOT, Project
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.wait import WebDriverWait

from mnist_pipeline.tools import plots_page

# The CDN that DVC's own page loads vega from: where an offline browser must fail to reach.
CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/vega@5.20.2"
# A pixel of a mark, not of the page or the axes (white, grey, black): one channel at least this far from another.
COLOURED = 40

# Per plot div: whether vega-embed took it over, and how many of the plot's own marks (rects, lines, texts; not
# axes, legends or titles, which Vega draws without data too) it drew with a size.
PLOT_STATES = """
return arguments[0].map((id) => {
    const div = document.getElementById(id);
    const marks = [...div.querySelectorAll("svg.marks .role-mark > *")].filter((item) => {
        const box = item.getBBox();
        return box.width > 0 || box.height > 0;
    });
    return {id: id, embedded: div.classList.contains("vega-embed"), marks: marks.length,
            height: div.getBoundingClientRect().height};
});
"""


# --- the template itself ---------------------------------------------------------------------------------------------

def test_the_template_is_dvcs_page_with_the_bundle_inline():
    template = plots_page.offline_template("window.vegaEmbed = () => {};")
    assert "{scripts}" not in template  # DVC has nowhere to put its CDN script tags
    assert "{plot_divs}" in template and "{refresh_tag}" in template
    assert "://" not in template
    head = template.split("<head>")[1].split("</head>")[0]
    assert '<meta charset="utf-8">' in head and "<script>(() => {\nwindow.vegaEmbed = () => {};\n})();</script>" in head


@pytest.mark.parametrize("bundle", ["a = '</script>';", "a = '</SCRIPT>';", "a = '<!--';", "a = '{plot_divs}';"])
def test_a_bundle_that_cannot_be_inlined_is_refused(bundle):
    with pytest.raises(ValueError, match="cannot be inlined"):
        plots_page.offline_template(bundle)


def test_a_page_without_scripts_placeholder_is_refused():
    with pytest.raises(ValueError, match=r"no \{scripts\} placeholder"):
        plots_page.offline_template("", page="<html>{plot_divs}</html>")


@pytest.mark.heavy  # vl-convert's Vega bundle, written out
def test_main_writes_the_template_with_vl_converts_bundle(tmp_path):
    path = tmp_path / "share" / "offline.html"
    plots_page.main([str(path)])
    template = path.read_text(encoding="utf-8")
    assert template.startswith("<!DOCTYPE html>") and "{plot_divs}" in template
    assert "window.vegaEmbed=" in template and len(template) > 100_000
    assert [item.name for item in path.parent.iterdir()] == ["offline.html"]  # no temporary file left


# --- the page in a browser without a network ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def configured_template() -> Path:
    """The template file that the repository's ``.dvc/config`` names, as DVC resolves it (relative to ``.dvc/``)."""
    result = subprocess.run([sys.executable, "-m", "dvc", "config", "--project", "plots.html_template"],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f".dvc/config sets no plots.html_template:\n{result.stderr}"
    template = (REPO_ROOT / ".dvc" / result.stdout.strip()).resolve()
    if not template.is_file():
        pytest.fail(f"{template} is missing, the page template that .dvc/config names as plots.html_template: run "
                    f"`make`, which writes it when it builds .venv, or, with .venv already built, "
                    f"`python -m mnist_pipeline.tools.plots_page {template}`", pytrace=False)
    return template


@pytest.fixture(scope="module")
def configured(configured_template, project) -> Project:
    """The module's copy of the tiny run, configured as the repository is: its template, named by absolute path."""
    project.dvc("config", "plots.html_template", str(configured_template))
    return project


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium with no network: offline by DevTools' network emulation, every host name unresolvable,
    and every connection sent to a proxy on a loopback port that nothing listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: a connection to it is refused
        with headless_chromium("the offline plots page's browser test", "--window-size=1600,1200",
                               "--host-resolver-rules=MAP * ~NOTFOUND",
                               f"--proxy-server=http://127.0.0.1:{closed.getsockname()[1]}", logs=True) as driver:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            yield driver


def plots(project: Project, *command: str, out: Path) -> tuple[Path, list[str]]:
    """Run a `dvc plots` command writing its page into ``out``: the page, and the ids of the divs that DVC wrote a
    Vega plot into (each holds a script calling ``vegaEmbed('#id', spec)``)."""
    result = project.dvc("plots", *command, "-o", str(out))
    assert "failed to load" not in result.stdout + result.stderr, result.stderr  # a plot left out of the page
    page = out / "index.html"
    assert page.as_uri() in result.stdout
    ids = re.findall(r"vegaEmbed\('#([^']+)'", page.read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids))
    return page, ids


def open_offline(driver: webdriver.Chrome, page: Path) -> None:
    driver.get_log("browser")  # what earlier pages logged
    driver.get(page.as_uri())  # returns once the page has loaded: its scripts and images, or their failures


def plot_states(driver: webdriver.Chrome, ids: list[str]) -> dict[str, dict]:
    """Per plot div: whether vega-embed took it over, how many marks it drew, and how many coloured pixels the div
    shows in a screenshot (marks are coloured; the page, the axes and the text are not)."""
    states = {state.pop("id"): state for state in driver.execute_script(PLOT_STATES, ids)}
    for plot_id, state in states.items():
        state["coloured_pixels"] = 0
        if state.pop("height") > 0:
            shot = driver.find_element("id", plot_id).screenshot_as_png
            pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
            state["coloured_pixels"] = int(((pixels.max(axis=2) - pixels.min(axis=2)) > COLOURED).sum())
    return states


def drawn(state: dict) -> bool:
    return state["embedded"] and state["marks"] > 0 and state["coloured_pixels"] > 0


def images(driver: webdriver.Chrome) -> list[tuple[str, int]]:
    """Each ``<img>`` of the page, by source, and its width as decoded (0: it did not load)."""
    return [(src.rsplit("/", 1)[-1], width) for src, width in driver.execute_script(
        "return [...document.images].map((img) => [img.src, img.complete ? img.naturalWidth : 0])")]


def errors(driver: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def assert_offline(driver: webdriver.Chrome) -> None:
    """The browser cannot reach the CDN (``no-cors``: on a network this fetch would resolve, opaque)."""
    outcome = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch({CDN_SCRIPT!r}, {{mode: 'no-cors'}}).then(() => done('reached'), (error) => done(String(error)));")
    assert outcome != "reached", "the browser reached the CDN: the test's network is not off"


@pytest.mark.parametrize("command", [("show",), ("diff", "HEAD")], ids=["show", "diff"])
def test_every_plot_draws_without_a_network(configured, offline_browser, tmp_path, command):
    page, ids = plots(configured, *command, out=tmp_path / "plots")
    assert len(ids) >= 4, ids  # both confusion matrices, loss and accuracy at least
    assert not re.search(r"<script[^>]*\ssrc=", page.read_text(encoding="utf-8"))  # no script from anywhere

    open_offline(offline_browser, page)
    with contextlib.suppress(TimeoutException):  # the assertion below says which plots did not draw
        WebDriverWait(offline_browser, 60, poll_frequency=0.5).until(
            lambda driver: all(state["embedded"] and state["marks"] > 0
                               for state in driver.execute_script(PLOT_STATES, ids)))
    states = plot_states(offline_browser, ids)
    assert all(drawn(state) for state in states.values()), states
    assert errors(offline_browser) == []

    figures = images(offline_browser)
    assert figures, "the page shows no PNG figure"
    assert all(width > 0 for _, width in figures), figures
    assert_offline(offline_browser)


def test_dvcs_own_page_draws_nothing_without_a_network(configured, offline_browser, tmp_path):
    # The control: the check above fails on the page that DVC writes by default, whose scripts are on a CDN.
    default_template = tmp_path / "dvc-default.html"
    default_template.write_text(PAGE_HTML, encoding="utf-8")
    page, ids = plots(configured, "show", "--html-template", str(default_template), out=tmp_path / "plots")
    assert f'<script src="{CDN_SCRIPT}">' in page.read_text(encoding="utf-8")

    open_offline(offline_browser, page)
    logged = errors(offline_browser)
    # Every plot's script ran, and failed: the CDN's scripts did not load, so there is no vegaEmbed to call.
    assert sum("vegaEmbed is not defined" in message for message in logged) == len(ids), logged
    assert any(CDN_SCRIPT in message for message in logged), logged
    states = plot_states(offline_browser, ids)
    assert not any(drawn(state) for state in states.values()), states
    assert all(width > 0 for _, width in images(offline_browser))  # the PNG figures are local files
    assert_offline(offline_browser)
