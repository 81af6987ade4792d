"""`make mutants`' verdict (mnist_pipeline/tools/mutants.py) on mutmut's output, and the list of equivalent mutants
it judges by."""

from pathlib import Path

import pytest
from helpers import REPO_ROOT

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.tools.mutants import EQUIVALENTS, Edit, edit_of, load_equivalents, statuses, verdict

RESULTS = """\
    mnist_pipeline.idx.x_parse_idx__mutmut_1: killed
    mnist_pipeline.idx.x_parse_idx__mutmut_64: survived
    mnist_pipeline.significance.x\u01c1PairedComparison\u01c1verdict__mutmut_10: survived
    mnist_pipeline.dataset.x_split_train_val__mutmut_9: no tests
"""

SHOWN = """\
# mnist_pipeline.idx.x_parse_idx__mutmut_64: survived
--- mnist_pipeline/idx.py
+++ mnist_pipeline/idx.py
@@ -1,3 +1,3 @@
     if actual != payload_size:
-        state = "truncated" if actual < payload_size else "has trailing bytes"
+        state = "truncated" if actual <= payload_size else "has trailing bytes"
         raise IdxError(state)
"""


def test_each_mutants_status_is_read_from_mutmuts_results():
    assert statuses(RESULTS) == {
        "mnist_pipeline.idx.x_parse_idx__mutmut_1": "killed",
        "mnist_pipeline.idx.x_parse_idx__mutmut_64": "survived",
        "mnist_pipeline.significance.x\u01c1PairedComparison\u01c1verdict__mutmut_10": "survived",
        "mnist_pipeline.dataset.x_split_train_val__mutmut_9": "no tests",
    }


def test_a_mutant_is_its_function_and_the_line_before_and_after():
    assert edit_of("mnist_pipeline.idx.x_parse_idx__mutmut_64", SHOWN) == Edit(
        "mnist_pipeline.idx.x_parse_idx", 'state = "truncated" if actual < payload_size else "has trailing bytes"',
        'state = "truncated" if actual <= payload_size else "has trailing bytes"')


def test_a_diff_of_more_than_one_line_is_refused():
    with pytest.raises(PipelineError, match="x_parse_idx__mutmut_2: expected a diff of one line changed, got 2"):
        edit_of("mnist_pipeline.idx.x_parse_idx__mutmut_2", SHOWN + "-a = 1\n+a = 2\n")


def test_the_verdict_names_survivors_not_listed_and_listed_edits_gone():
    listed, other, gone = (Edit("m.x_f", "a < b", f"a {op} b") for op in ("<=", ">", "=="))
    assert verdict([listed, other], {listed: "why", gone: "why"}) == ([other], [gone])
    assert verdict([listed], {listed: "why"}) == ([], [])
    # A listed equivalent that only slows the code may run out of time on a loaded machine: not gone.
    assert verdict([], {listed: "why"}, timed_out=[listed]) == ([], [])


def test_a_list_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / "equivalent_mutants.yaml"
    path.write_text("- function: m.x_f\n  before: a\n")
    with pytest.raises(PipelineError, match="not a list of function, before, after and why"):
        load_equivalents(path)


def test_every_listed_equivalent_is_a_line_of_its_module_with_a_reason():
    """Checked without mutmut: an entry whose line is no longer in its module cannot survive any more."""
    entries = load_equivalents(REPO_ROOT / EQUIVALENTS)
    assert entries
    for edit, why in entries.items():
        module = edit.function.rsplit(".", 1)[0]
        source = Path(REPO_ROOT, *module.split(".")).with_suffix(".py").read_text()
        assert edit.before in {line.strip() for line in source.splitlines()}, edit
        assert edit.before != edit.after and why.strip(), edit
