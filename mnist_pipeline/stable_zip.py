"""The same model gives the same file: skops and Keras zip files stripped of what varies from save to save,
and ``.npz`` files written the same way whatever the Python.

Both formats are zip archives, and both stamp them with things that change on every save without meaning
anything: zip timestamps (``writestr`` uses the clock), skops' object ids (``id()`` of each object, used as
``__id__`` and as array file names) and random ``uuid4`` file names, Keras' ``date_saved`` and the ``id()``
it writes as ``shared_object_id`` for a tensor that several layers share. Rewriting them to
fixed values keeps each file what its format says it is: the standard loaders read it, with their safety
checks (skops' trusted types, Keras' safe mode), and rebuild the same model.

NumPy's ``savez_compressed`` asks ``zipfile`` for zip64 local headers, whose bytes changed within Python 3.11
(3.11.2 writes the members' sizes there, 3.11.7 the zip64 marker and a higher "version needed"): the same
arrays gave two hashes, and `dvc repro` on Debian's Python rewrote the committed ``dvc.lock``. :func:`stable_npz`
writes plain zip headers, which read the same in NumPy's loader.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import numpy as np

# The earliest date a zip file can hold, as NumPy's .npz files and reproducible-builds tools use.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Keras' own format for ``date_saved``, at the same instant.
KERAS_SAVE_DATE = "1980-01-01@00:00:00"


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def _rezip(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of ``(name, data, compress_type)`` in the given order, with nothing from the clock or the host."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compress_type in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = compress_type
            info.create_system = 3  # Unix, whatever the saving system
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def stable_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """The compressed ``.npz`` of ``arrays`` (as ``np.savez_compressed``: ``name.npy`` members, deflated), with
    bytes that depend only on the arrays and zlib."""
    members = []
    for name, array in arrays.items():
        npy = io.BytesIO()
        np.lib.format.write_array(npy, np.asanyarray(array), allow_pickle=False)
        members.append((f"{name}.npy", npy.getvalue(), zipfile.ZIP_DEFLATED))
    return _rezip(members)


def _dicts(node: Any) -> Iterator[dict]:
    """Every object of a parsed JSON document, depth first in document order (a stable order to number in)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dicts(item)


def stable_skops(data: bytes) -> bytes:
    """A skops file with its object ids and member names numbered in order of first use.

    ``__id__`` values only say which states are the same object, and a member's name only has to match the
    ``file`` that refers to it, so numbering both consistently keeps the meaning and drops ``id()`` and
    ``uuid4``.
    """
    members = _members(data)
    contents = {info.filename: content for info, content in members}
    schema = json.loads(contents["schema.json"])
    ids: dict[Any, int] = {}
    names: dict[str, str] = {}
    for node in _dicts(schema):
        if "__id__" in node:
            node["__id__"] = ids.setdefault(node["__id__"], len(ids))
        member = node.get("file")
        if isinstance(member, str) and member in contents:
            node["file"] = names.setdefault(member, f"{len(names)}{PurePosixPath(member).suffix}")
    contents["schema.json"] = json.dumps(schema, indent=2).encode()  # as skops writes it
    return _rezip([(names.get(info.filename, info.filename), contents[info.filename], info.compress_type)
                   for info, _ in members])


def stable_keras(data: bytes) -> bytes:
    """A ``.keras`` file with a fixed ``date_saved``, its ``shared_object_id`` values numbered in order of first
    use (Keras writes ``id()`` of each object that several layers share) and fixed zip timestamps."""
    members = []
    for info, content in _members(data):
        if info.filename == "metadata.json":
            metadata = json.loads(content)
            metadata["date_saved"] = KERAS_SAVE_DATE
            content = json.dumps(metadata).encode()  # as Keras writes it
        elif info.filename == "config.json":
            config = json.loads(content)
            shared_ids: dict[Any, int] = {}
            for node in _dicts(config):
                if "shared_object_id" in node:
                    node["shared_object_id"] = shared_ids.setdefault(node["shared_object_id"], len(shared_ids) + 1)
            content = json.dumps(config).encode()  # as Keras writes it
        members.append((info.filename, content, info.compress_type))
    return _rezip(members)
