"""The project's files as they are at a git revision: the one reader of ``make compare``, ``make audit`` and
``mnist-predict --rev``.

A revision is anything git or DVC names: a commit, a branch, a tag, an experiment (``dvc exp list``). A file
git tracks (``reports/predictions/nn.csv``, ``dvc.lock``) is read from git's objects; an output DVC tracks
(``models/nn.keras``) from the DVC cache, or the remote when the cache lacks it, and checked against the hash
that revision's ``dvc.lock`` records.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import PIPELINE_FILE

LOCK_FILE = PIPELINE_FILE.with_suffix(".lock")


class RevisionError(PipelineError):
    """A revision unknown, a file missing at it, or an output whose bytes cannot be had or are not the lock's."""


class Revisions:
    """The files of the project at ``project_root`` in its workspace and at any revision of its git repository."""

    def __init__(self, project_root: Path):
        from dvc.scm import SCM, SCMError

        try:
            self.scm = SCM(str(project_root))
        except SCMError as error:
            raise RevisionError(f"{project_root} is not in a git repository ({error})") from None
        self.project_root = Path(project_root)
        # The project may sit in a subfolder of its git repository.
        self.prefix = self.project_root.resolve().relative_to(Path(self.scm.root_dir).resolve())

    def resolve(self, rev: str) -> str:
        """The commit ``rev`` names (an experiment's too)."""
        from dvc.scm import RevError, resolve_rev

        what = "give a commit, branch, tag or experiment name (`git log`, `dvc exp list`)"
        if not rev.strip():  # git reads an empty name as HEAD: say so rather than compare HEAD unasked
            raise RevisionError(f"an empty revision: {what}")
        try:
            sha = resolve_rev(self.scm, rev)
        except RevError:
            raise RevisionError(f"unknown revision {rev!r}: {what}") from None
        try:
            self.scm.resolve_commit(sha)
        except Exception:  # a tree or a file's blob (`HEAD^{tree}`, `main:params.yaml`): no commit to read
            raise RevisionError(f"{rev!r} names no commit: {what}") from None
        return sha

    def read_text(self, rev: str | None, path: Path, *, missing: str = "") -> str:
        """The git-tracked ``path`` (relative to the project root) in the workspace (``rev`` None) or at ``rev``;
        ``missing`` ends the message when the file is not there."""
        hint = f": {missing}" if missing else ""
        if rev is None:
            try:
                return (self.project_root / path).read_text()
            except FileNotFoundError:
                raise RevisionError(f"the workspace has no {path}: run `dvc repro` (or `dvc pull`)") from None
        try:
            with self.scm.get_fs(self.resolve(rev)).open((self.prefix / path).as_posix(), mode="r") as file:
                return file.read()
        except FileNotFoundError:
            raise RevisionError(f"{rev} has no {path}{hint}") from None

    def fetch_output(self, rev: str, path: Path, target: Path) -> Path:
        """Copy the DVC-tracked file ``path`` as it was at ``rev`` to ``target``, from the DVC cache or the
        remote, after checking its bytes against the MD5 in ``rev``'s ``dvc.lock``."""
        return fetch_output(str(self.project_root), self.resolve(rev), Path(path), target, label=rev)


def read_at(repo: str, sha: str, path: Path, *, label: str, missing: str) -> str:
    """The text of the git-tracked ``path`` at commit ``sha`` of ``repo`` (a path or a git URL); ``label`` names the
    revision in messages, ``missing`` ends the one for a file that is not there.

    Raises:
        RevisionError: no such file there, or a repository DVC cannot open.
    """
    import dvc.api

    try:
        return dvc.api.read(Path(path).as_posix(), repo=repo, rev=sha)
    except Exception as error:  # DVC raises many kinds: a missing file, a repository it cannot open
        raise RevisionError(f"{label} has no readable {path} ({str(error).strip() or type(error).__name__}): "
                            f"{missing}") from None


def output_md5(repo: str, sha: str, path: Path, *, label: str) -> str:
    """The MD5 that the ``dvc.lock`` of commit ``sha`` of ``repo`` (a path or a git URL) records for the output
    ``path``; ``label`` names the revision in messages."""
    lock = yaml.safe_load(read_at(repo, sha, LOCK_FILE, label=label, missing="its pipeline had not run (`dvc repro`)"))
    for stage in (lock or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if Path(out["path"]) == Path(path) and "md5" in out:
                return out["md5"]
    raise RevisionError(f"{path} is no output of the pipeline at {label}: its {LOCK_FILE} does not record it")


def file_md5(path: Path) -> str:
    """The MD5 of the file at ``path``, as DVC names its objects."""
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as file:
        while chunk := file.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_output(repo: str, sha: str, path: Path, target: Path, *, label: str, expected: str | None = None) -> Path:
    """Copy the DVC-tracked file ``path`` as commit ``sha`` of ``repo`` (a path or a git URL) has it to ``target``,
    from the DVC cache or the remote, after checking its bytes against the MD5 in that commit's ``dvc.lock``;
    ``label`` names the revision in messages; ``expected``, the MD5 if already read from that ``dvc.lock``.

    Raises:
        RevisionError: the output unrecorded, in neither the cache nor the remote, or not the bytes recorded.
    """
    import dvc.api
    from dvc.exceptions import PathMissingError

    expected = expected or output_md5(repo, sha, path, label=label)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with dvc.api.open(Path(path).as_posix(), repo=repo, rev=sha, mode="rb") as source, target.open("wb") as out:
            while chunk := source.read(2**20):
                digest.update(chunk)
                out.write(chunk)
    except Exception as error:  # DVC raises many kinds for an object in neither the cache nor the remote
        target.unlink(missing_ok=True)
        # With no remote to ask, DVC says the path is no output at all ("does not exist in the target repository"),
        # which the dvc.lock just read contradicts: the message below says it all. Another error (a remote that
        # refused or could not be reached) is named, since it says what to mend.
        reason = "" if isinstance(error, PathMissingError) else f" ({str(error).strip() or type(error).__name__})"
        raise RevisionError(f"{path} at {label} (md5 {expected}) is in neither this project's DVC cache nor its "
                            f"remote{reason}: fetch it with `dvc fetch --all-commits` (or `dvc pull` with "
                            f"{label} checked out), or `dvc push` it from the machine that trained it") from None
    if digest.hexdigest() != expected:
        target.unlink()
        raise RevisionError(f"{path} at {label} has md5 {digest.hexdigest()}, not the {expected} its {LOCK_FILE} "
                            f"records: the cache or remote holds a damaged copy; remove it and `dvc pull` "
                            f"again, or `dvc push` it from the machine that trained it")
    return target
