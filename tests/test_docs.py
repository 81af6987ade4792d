"""README and docs/ are the user's manual: the figures they state are the files the pipeline and the benchmark
wrote, their links lead somewhere, and their commands are the real ones."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((REPO_ROOT / "docs").glob("*.md"))}


def results_table(metrics: dict) -> list[tuple[str, ...]]:
    """README's results rows as :file:`reports/metrics.json`'s ``metrics`` would print them."""
    return [(model, *(f"{m[key] * 100:.2f}" for key in ("accuracy", "accuracy_ci95_low", "accuracy_ci95_high",
                                                        "val_accuracy")),
             *(f"{m[key]:.4f}" for key in ("f1_macro", "log_loss", "ece")),
             *(f"{m[key] * 100:.2f}" for key in ("sure_share", "sure_accuracy"))) for model, m in metrics.items()]


def committed(path: str) -> str | None:
    """The file at ``path`` as HEAD holds it; None outside a git checkout (an unpacked source archive). The pages
    describe the committed run and benchmark: `make repro` or a benchmark in a clone rewrites the workspace's."""
    shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=REPO_ROOT, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def committed_or_workspace(path: str) -> str:
    text = committed(path)
    return text if text is not None else (REPO_ROOT / path).read_text()


def committed_metrics() -> dict | None:
    """HEAD's reports/metrics.json; None outside a git checkout."""
    text = committed("reports/metrics.json")
    return json.loads(text) if text is not None else None


def test_results_table_matches_committed_metrics():
    # README describes the committed run; a developer who reruns the pipeline with other params or code updates
    # README to the workspace's before committing both. Either must match, row for row.
    rows = re.findall(r"^\| (logreg|nn)\b[^|]*\| ([\d.]+)% \| ([\d.]+)% to ([\d.]+)% \| ([\d.]+)% \| ([\d.]+) \| "
                      r"([\d.]+) \| ([\d.]+) \| ([\d.]+)% \(([\d.]+)% right\) \|$", README, re.MULTILINE)
    workspace = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())
    expected = [results_table(m) for m in (workspace, committed_metrics()) if m is not None]
    assert sorted(rows) in [sorted(table) for table in expected]


def test_benchmark_page_quotes_the_tables_the_benchmark_wrote():
    # Each compute profile's run writes a line naming the profile and the processor, then its tables.
    written = committed_or_workspace("benchmarks/results.md").split("\n\n")
    tables = [block.strip() for block in written if block.startswith("|")]
    headers = [block for block in written if block.startswith("train_nn.compute: ")]
    assert [header.split(". ", 1)[0] for header in headers] == ["train_nn.compute: portable", "train_nn.compute: fast"]
    assert len(tables) == 2 * len(headers) and all(len(table.splitlines()) >= 3 for table in tables)
    page = DOCS["benchmark.md"]
    assert [page.count(f"\n{table}\n") for table in tables] == [1] * len(tables)
    assert [page.index(table) for table in tables] == sorted(page.index(table) for table in tables)
    for header in headers:
        assert header in page  # the profile and processor line


def test_the_predicting_page_quotes_the_table_the_handwriting_benchmark_wrote():
    written = committed_or_workspace("benchmarks/handwriting.md").split("\n\n")
    [table] = [block.strip() for block in written if block.startswith("| condition |")]
    assert f"\n{table}\n" in DOCS["predicting.md"]
    for ceiling in ("The same writers' scans read directly", "The MNIST digits redrawn with a pen"):
        [block] = [block for block in written if block.startswith(ceiling)]
        assert " ".join(block.split()) in " ".join(DOCS["predicting.md"].split())


@pytest.mark.parametrize(("page", "table"), [("benchmark.md", "benchmarks/stage_times.md"),
                                            ("architecture.md", "benchmarks/test_times.md"),
                                            ("architecture.md", "benchmarks/exit_times.md")])
def test_a_page_quotes_the_whole_table_its_benchmark_wrote(page, table):
    written = committed_or_workspace(table).strip().splitlines()
    quoted = [line.removeprefix("    ") for line in DOCS[page].splitlines()]
    start = quoted.index(written[0])
    assert quoted[start:start + len(written)] == written


def test_readme_stays_a_front_door():
    assert len(README.splitlines()) <= 160


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{name}" for name in DOCS)])
def test_relative_links_lead_to_files_and_headings_that_exist(page):
    text = (REPO_ROOT / page).read_text()
    folder = (REPO_ROOT / page).parent
    links = re.findall(r"\]\((?!https?:)([^)#\s]*)(?:#([^)\s]+))?\)", text)
    for target, anchor in links:
        path = (folder / target) if target else REPO_ROOT / page
        assert path.exists(), (page, target)
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
            assert anchor in slugs, (page, target, anchor)


def test_every_docs_page_is_linked_from_the_readme():
    for name in DOCS:
        assert f"(docs/{name})" in README, name


def test_make_targets_readme_names_exist():
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z-]+)", README)):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_ci_runs_the_test_command_readme_gives():
    assert "make test " in README and "make repro " in README
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_every_generated_example_shows_the_last_generations_output():
    # `make docs` ran each example's commands and wrote docs/examples/<name>.txt; a page's marked block that
    # differs was typed or edited by hand, or the code changed since: run `make docs`.
    from mnist_pipeline.tools.examples import EXAMPLES, MARKER, OUTPUTS

    shown: dict[str, list[str]] = {}
    for text in DOCS.values():
        for match in MARKER.finditer(text):
            shown.setdefault(match["name"], []).append(match.group(0).split("\n", 2)[2].removesuffix("```"))
    assert sorted(shown) == sorted(EXAMPLES)  # every example shown, and shown once
    for name, blocks in shown.items():
        assert blocks == [(REPO_ROOT / OUTPUTS / f"{name}.txt").read_text()], name


def test_an_example_shows_each_command_then_its_output_from_its_start_line():
    from mnist_pipeline.tools.examples import Example, ExampleError, render

    example = Example(("make audit",), start=r"^Reproduction")
    assert render("audit", example, ["Running stage 'fetch'\nReproduction audit of abc\n\nVerdict.\n"]) == (
        "$ make audit\n…\nReproduction audit of abc\n\nVerdict.\n")
    assert render("two", Example(("a", "b")), ["1\n", "2\n3\n"]) == "$ a\n1\n$ b\n2\n3\n"
    with pytest.raises(ExampleError, match="printed no line matching"):
        render("audit", example, ["nothing\n"])


def test_an_example_can_show_only_the_lines_it_keeps_with_one_mark_for_each_run_left_out():
    from mnist_pipeline.tools.examples import Example, render

    example = Example(("make tune",), keep=r"^===")
    printed = "python -m tune\n=== trial 1\nstage\nstage\n=== done 1\n\n=== trial 2\n"
    assert render("tune", example, [printed]) == "$ make tune\n…\n=== trial 1\n…\n=== done 1\n…\n=== trial 2\n"


def test_a_shell_outside_the_environment_lacks_only_its_bin_folder(tmp_path):
    from mnist_pipeline.tools.examples import without_venv

    venv_bin = str(Path(sys.prefix) / "bin")
    env = {"PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin"]), "VIRTUAL_ENV": sys.prefix, "A": "1"}
    assert without_venv(env) == {"PATH": os.pathsep.join(["/usr/local/bin", "/usr/bin"]), "A": "1"}


def test_a_server_example_is_stopped_once_it_prints_its_line_and_its_output_ends_there(tmp_path):
    from mnist_pipeline.tools.examples import ExampleError, run_until

    command = "echo starting; echo 'Serving at http://x (Ctrl+C to stop)'; sleep 60; echo never"
    assert run_until(command, tmp_path, dict(os.environ), r"^Serving at ") == (
        "starting\nServing at http://x (Ctrl+C to stop)\n")
    with pytest.raises(ExampleError, match="ended, or ran 120 s, without printing a line matching 'Serving'"):
        run_until("echo starting; exit 3", tmp_path, dict(os.environ), "Serving")


# Python programs that print their line, then take Ctrl-C as the arguments say.
FIRST_CTRL_C_TAKEN = ("import signal, time; signal.signal(signal.SIGINT, lambda *_: signal.signal(signal.SIGINT, "
                      "signal.SIG_DFL)); print('Serving', flush=True); time.sleep(60)")
CTRL_C_IGNORED = ("import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('Serving', flush=True); "
                  "time.sleep(60)")


def test_ctrl_c_is_pressed_again_while_the_program_runs(tmp_path):
    # As a shell does that takes the first Ctrl-C while it starts a command, and waits for the command.
    from mnist_pipeline.tools.examples import run_until

    start = time.monotonic()
    command = f'{sys.executable} -c "{FIRST_CTRL_C_TAKEN}"'
    assert run_until(command, tmp_path, dict(os.environ), "Serving") == "Serving\n"
    assert time.monotonic() - start < 10


def test_a_program_that_ignores_ctrl_c_is_killed(tmp_path):
    from mnist_pipeline.tools.examples import interrupt

    process = subprocess.Popen([sys.executable, "-c", CTRL_C_IGNORED], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout.readline() == "Serving\n"
    start = time.monotonic()
    interrupt(process, timeout=0.5, again=0.25)
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - start < 10
