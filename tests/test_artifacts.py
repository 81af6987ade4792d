"""Atomic writes, the arrays' on-disk form and the training history dvclive leaves behind."""

import json
import struct
import zipfile

import numpy as np
import pytest

from mnist_pipeline.artifacts import (
    atomic_path,
    load_arrays,
    load_training_history,
    save_arrays,
    write_bytes,
    write_json,
    write_text,
)
from mnist_pipeline.errors import ArtifactError


def leftovers(folder):
    """Anything in ``folder`` other than what the test put there: temporary siblings."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_file_write(tmp_path):
    target = tmp_path / "sub" / "out.txt"  # the parent is created
    with atomic_path(target) as tmp:
        assert tmp.parent.parent == target.parent and tmp.name == target.name
        tmp.write_text("new")
        assert not target.exists()  # nothing is visible before the block ends
    assert target.read_text() == "new"
    assert leftovers(target.parent) == []


def test_atomic_file_replaces_an_existing_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_atomic_file_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_directory_replaces_an_existing_directory(tmp_path):
    target = tmp_path / "raw"
    target.mkdir()
    (target / "stale.txt").write_text("from the last run")
    (target / "nested").mkdir()
    (target / "nested" / "deep.txt").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "fresh.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["fresh.txt"]  # nothing stale survives
    assert (target / "fresh.txt").read_text() == "new"
    assert leftovers(tmp_path) == []


def test_atomic_directory_created_fresh(tmp_path):
    target = tmp_path / "figures"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "a.png").write_bytes(b"png")
    assert (target / "a.png").read_bytes() == b"png"
    assert leftovers(tmp_path) == []


def test_atomic_directory_failure_keeps_the_old_directory(tmp_path):
    target = tmp_path / "raw"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(ValueError, match="midway"), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "partial.txt").write_text("partial")
        raise ValueError("midway")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert (target / "old.txt").read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_file_can_replace_a_directory(tmp_path):
    target = tmp_path / "thing"
    target.mkdir()
    (target / "x").write_text("x")
    write_bytes(target, b"now a file")
    assert target.read_bytes() == b"now a file"
    assert leftovers(tmp_path) == []


def test_nothing_written_is_an_error_and_keeps_the_old_target(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic_path(target):
        pass
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_suffix_is_kept_for_writers_that_insist(tmp_path):
    with atomic_path(tmp_path / "model", suffix=".keras") as tmp:
        assert tmp.name == "model.keras"
        tmp.write_bytes(b"m")
    assert (tmp_path / "model").read_bytes() == b"m"
    with atomic_path(tmp_path / "nn.keras", suffix=".keras") as tmp:
        assert tmp.name == "nn.keras"
        tmp.write_bytes(b"m")
    assert leftovers(tmp_path) == []


def test_write_json_is_sorted_and_ends_with_a_newline(tmp_path):
    write_json(tmp_path / "m.json", {"b": 1, "a": {"d": 2.5, "c": [1]}})
    text = (tmp_path / "m.json").read_text()
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": {"c": [1], "d": 2.5}, "b": 1}


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_train": np.arange(5, dtype=np.uint8),
            "scores": rng.random(3)}


def test_save_and_load_arrays_round_trip(tmp_path, arrays):
    save_arrays(tmp_path / "d" / "mnist.npz", **arrays)
    loaded = load_arrays(tmp_path / "d" / "mnist.npz")
    assert set(loaded) == set(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert leftovers(tmp_path / "d") == []


def test_npz_headers_do_not_depend_on_the_python(tmp_path, arrays):
    # np.savez_compressed forces zip64 local headers, which Python 3.11.2 and 3.11.7 write differently (sizes or
    # the zip64 marker, "version needed" 20 or 45): each member's local header must hold its real sizes instead.
    path = tmp_path / "a.npz"
    save_arrays(path, **arrays)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [f"{name}.npy" for name in arrays]
    for info in infos:
        (version_needed, compressed, size, extra_length) = struct.unpack_from(
            "<H12xII2xH", data, info.header_offset + 4)
        assert (version_needed, compressed, size, extra_length) == (20, info.compress_size, info.file_size, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.date_time == (1980, 1, 1, 0, 0, 0)


def test_identical_arrays_give_identical_bytes(tmp_path, arrays):
    # DVC hashes the file: the same data must give the same hash, whenever it is written.
    save_arrays(tmp_path / "a.npz", **arrays)
    save_arrays(tmp_path / "b.npz", **{name: array.copy() for name, array in arrays.items()})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    arrays["y_train"][0] += 1
    save_arrays(tmp_path / "c.npz", **arrays)
    assert (tmp_path / "a.npz").read_bytes() != (tmp_path / "c.npz").read_bytes()


def test_load_arrays_refuses_pickled_objects(tmp_path):
    np.savez(tmp_path / "evil.npz", obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ArtifactError, match=r"evil.npz.*allow_pickle"):
        load_arrays(tmp_path / "evil.npz")


def write_tsv(path, metric: str, values: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{step}\t{value}\n" for step, value in enumerate(values))
    path.write_text(f"step\t{metric}\n{rows}")


def test_load_training_history_from_a_dvclive_layout(tmp_path):
    metrics = tmp_path / "plots" / "metrics"
    write_tsv(metrics / "train" / "loss.tsv", "loss", [0.9, 0.5, 0.25])
    write_tsv(metrics / "eval" / "loss.tsv", "loss", [1.0, 0.6, 0.4])
    write_tsv(metrics / "train" / "accuracy.tsv", "accuracy", [0.5, 0.75, 0.875])
    history = load_training_history(tmp_path)
    assert set(history) == {"train/loss", "eval/loss", "train/accuracy"}
    np.testing.assert_array_equal(history["train/loss"], [0.9, 0.5, 0.25])
    np.testing.assert_array_equal(history["eval/loss"], [1.0, 0.6, 0.4])
    assert history["train/accuracy"].dtype == float


def test_load_training_history_with_a_timestamp_column_and_one_epoch(tmp_path):
    path = tmp_path / "plots" / "metrics" / "eval" / "accuracy.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("timestamp\tstep\taccuracy\n1700000000000\t0\t0.8125\n")
    history = load_training_history(tmp_path)
    assert history["eval/accuracy"].shape == (1,)
    assert history["eval/accuracy"][0] == 0.8125


def test_load_training_history_without_any_log(tmp_path):
    with pytest.raises(ArtifactError, match=r"no training history.*not found"):
        load_training_history(tmp_path)
