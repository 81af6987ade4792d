"""notebooks/explore.ipynb runs top to bottom on the pipeline's artifacts (tiny configuration), so it cannot rot."""

import warnings
from pathlib import Path

import nbclient
import nbformat
from helpers import REPO_ROOT

NOTEBOOK = Path("notebooks/explore.ipynb")  # in the repository, and in each copy of the pipeline


def test_the_committed_notebook_is_valid_and_clean():
    # nbformat 4.5 gives every cell an id; nbformat warns of a cell without one today and will refuse it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook = nbformat.read(REPO_ROOT / NOTEBOOK, as_version=4)
        nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 5)
    assert all(cell.get("id") for cell in notebook.cells)
    # Committed without outputs: what it shows comes from the reader's own artifacts, never a stale run.
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and not any(cell.outputs or cell.execution_count for cell in code)


def test_notebook_executes_and_predicts_the_drawn_digit(project):
    notebook = nbformat.read(project.root / NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(project.root / NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "logreg  accuracy" in text and "nn      accuracy" in text
    assert "says" in text
    shown = "".join(output["data"].get("text/plain", "") for output in outputs if "data" in output)
    assert "error %" in shown and "predicted" in shown and "correct" in shown  # the pandas tables of mistakes
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 5  # samples, two galleries, two confusion matrices, the drawn digit
    # The notebook only reads artifacts: it must not have changed any pipeline output.
    assert "up to date" in project.dvc("status").stdout
