"""Released models: one model by its version (``nn@v1.1.0``) or its stage (``nn#prod``), without a checkout.

The project declares its models under ``artifacts:`` in ``dvc.yaml``; GTO's git tags give them versions and
stages (``make release``, ``gto assign``). :func:`fetch_release` asks DVC which commit a tag names
(``dvc.api.artifacts_show``), reads that commit's ``dvc.lock`` for the model's MD5, and downloads that one file
from the project's DVC cache or remote into a local cache of released models, checked against the MD5, where it
is loaded from as safely as the workspace's models. A model already cached with the right bytes is not fetched
again.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mnist_pipeline import paths
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.revisions import RevisionError, fetch_output, file_md5, output_md5

SPEC = re.compile(r"(?P<name>[A-Za-z0-9_-]+)(?:@(?P<version>[^@#\s]+)|#(?P<stage>[^@#\s]+))?")


@dataclass(frozen=True)
class ModelSpec:
    """``name``, ``name@version`` or ``name#stage``: a model of the workspace, or a released one."""

    name: str
    version: str | None = None
    stage: str | None = None

    @property
    def released(self) -> bool:
        return self.version is not None or self.stage is not None

    def __str__(self) -> str:
        return self.name + (f"@{self.version}" if self.version else f"#{self.stage}" if self.stage else "")


def parse_spec(text: str) -> ModelSpec:
    """``nn``, ``nn@v1.1.0`` or ``nn#prod`` as a :class:`ModelSpec` of a registered model.

    Raises:
        ValueError: not of that form, or a model the registry does not know.
    """
    match = SPEC.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not MODEL, MODEL@VERSION or MODEL#STAGE (e.g. nn, nn@v1.1.0, nn#prod)")
    if match["name"] not in paths.MODEL_FILES:
        raise ValueError(f"unknown model {match['name']!r}; the models are {list(paths.MODEL_NAMES)}")
    return ModelSpec(match["name"], match["version"], match["stage"])


def cache_dir() -> Path:
    """Where released models are kept, by MD5: ``$XDG_CACHE_HOME/mnist-dvc-pipeline/models`` (``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-dvc-pipeline" / "models"


def fetch_release(spec: ModelSpec, repo: str | Path) -> tuple[Path, str]:
    """The file of the released model ``spec`` of the project ``repo`` (a folder in it, or a git URL), in the local
    cache, its bytes those its commit's ``dvc.lock`` records; and that commit.

    Raises:
        ModelLoadError: a version or stage the registry does not have, or a model that cannot be had with the
            recorded bytes; the message names it.
    """
    from dvc.repo.open_repo import clean_repos

    try:
        return _fetch_release(spec, str(repo))
    finally:
        # DVC reads a repository given by URL from a clone (and a cache) it makes in the system's temporary folder.
        # Its own commands remove them as they end; through its API that is the caller's to do.
        clean_repos()


def _fetch_release(spec: ModelSpec, repo: str) -> tuple[Path, str]:
    import dvc.api
    from dvc.exceptions import DvcException
    from dvc.scm import SCMError
    from gto.exceptions import GTOException, MissingArg

    try:
        found = dvc.api.artifacts_show(spec.name, version=spec.version, stage=spec.stage, repo=repo)
    except (SCMError, MissingArg):  # DVC found no repository to clone there; GTO, a folder outside any repository
        raise ModelLoadError(f"{spec}: {repo} is no git repository that can be read; give --repo a project's folder "
                             f"or git URL") from None
    except (DvcException, GTOException) as error:
        which = f"version {spec.version}" if spec.version else f"stage {spec.stage}"
        raise ModelLoadError(f"{spec}: no {which} of {spec.name} in {repo} ({str(error).strip()}); `gto show "
                             f"{spec.name}` lists its versions and stages") from None
    path, sha = Path(found["path"]), found["rev"]
    try:
        md5 = output_md5(repo, sha, path, label=str(spec))
        cached = cache_dir() / f"{md5}{path.suffix}"  # Keras wants its .keras suffix
        if cached.is_file() and file_md5(cached) == md5:
            return cached, sha
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".download-") as folder:
            fetch_output(repo, sha, path, Path(folder) / cached.name, label=str(spec), expected=md5)
            os.replace(Path(folder) / cached.name, cached)
    except RevisionError as error:
        raise ModelLoadError(str(error)) from None
    return cached, sha
