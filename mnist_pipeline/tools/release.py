"""``make release MODEL=nn VERSION=v1.1.0``: register the current commit's model as a version, with GTO.

A version is a git tag (``nn@v1.1.0``) on a commit whose model a teammate can fetch: so the release is refused
unless the workspace is that commit as committed (no uncommitted change to a tracked file), its ``dvc.lock`` is
up to date (``dvc status`` finds nothing to rerun) and the model's file is on the DVC remote (``dvc push`` done).
Stages are GTO's too: ``gto assign nn --version v1.1.0 --stage prod`` (``STAGE=prod`` here does both at once).

    $ make release MODEL=nn VERSION=v1.1.0
    $ make release MODEL=logreg VERSION=v1.0.1 STAGE=prod
    $ gto show                                   # every model: its latest version and each stage's
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from mnist_pipeline import paths
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.tools.commands import output_of

PROG = "mnist-release"
# The names GTO gives stages (`gto.constants.name`, which tests/test_release.py checks this against). Read here
# rather than from GTO, whose import reconfigures the process's logging: the arguments are checked before it loads.
NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"


class ReleaseError(PipelineError):
    """The commit cannot be released as it is; the message says what to do first."""


def check_releasable(root: Path, model: str) -> None:
    """Refuse a workspace with uncommitted changes, a stale ``dvc.lock`` or the model not on the DVC remote."""
    status = output_of(["git", "status", "--porcelain", "--untracked-files=no"], root)
    changed = [line[3:] for line in status.splitlines()]
    if changed:
        raise ReleaseError(f"uncommitted changes ({', '.join(changed)}): a version is a commit; commit first")
    stale = json.loads(output_of(["dvc", "status", "--json"], root) or "{}")
    if stale:
        if deleted := only_deleted_outputs(stale):
            raise ReleaseError(f"outputs missing from the workspace ({', '.join(deleted)}): bring them back with "
                               f"`dvc checkout`")
        raise ReleaseError(f"dvc.lock is not up to date ({', '.join(sorted(stale))} would rerun): run `make repro` "
                           f"and commit dvc.lock with the outputs")
    if not output_of(["dvc", "remote", "default"], root).strip():
        raise ReleaseError("no default DVC remote: a teammate could not fetch the model; add one "
                           "(`dvc remote add -d <name> <url>`, committed) and `dvc push`")
    path = paths.model_file(model).as_posix()
    missing = json.loads(output_of(["dvc", "status", "--cloud", "--json", path], root) or "{}")
    if missing:
        raise ReleaseError(f"{path} is not on the DVC remote: run `dvc push` first")


def only_deleted_outputs(status: dict) -> list[str]:
    """The outputs ``dvc status --json`` finds deleted, where that is all it finds (else []): files to check out
    again, not stages to rerun. A deleted output that a later stage reads is also that stage's deleted dep."""
    changes = [change for stage in status.values() for change in stage]
    if not changes or any(not isinstance(change, dict) or set(change) - {"changed outs", "changed deps"}
                          for change in changes):
        return []
    outs = {path: state for change in changes for path, state in change.get("changed outs", {}).items()}
    deps = {path: state for change in changes for path, state in change.get("changed deps", {}).items()}
    if not outs or set(outs.values()) != {"deleted"} or any(
            state != "deleted" or path not in outs for path, state in deps.items()):
        return []
    return sorted(outs)


def _version(text: str) -> str:
    """``text`` if GTO takes it as a version: ``v`` and a semantic version (GTO's ``SemVer``, by the same library)."""
    import semver

    if not (text.startswith("v") and semver.Version.is_valid(text[1:])):
        raise argparse.ArgumentTypeError(f"a version is semantic, with a leading v (v1.0.0, v1.1.0-rc.1), not {text!r}")
    return text


def _stage(text: str) -> str:
    """``text`` if GTO takes it as a stage's name (:data:`NAME`)."""
    if not re.fullmatch(NAME, text):
        raise argparse.ArgumentTypeError(f"a stage is letters, digits, '_', '-' and '/', starting and ending with a "
                                         f"letter or digit (dev, prod), not {text!r}")
    return text


def release(root: Path, model: str, version: str, stage: str | None = None) -> list[str]:
    """Register ``model`` of the commit at HEAD as ``version`` (and assign ``stage``); the git tags made."""
    import gto.api
    from gto.exceptions import GTOException

    check_releasable(root, model)
    try:
        tags = [gto.api.register(str(root), model, ref="HEAD", version=version, push=False).tag]
        if stage:
            tags.append(gto.api.assign(str(root), model, stage, version=version, push=False).tag)
    except GTOException as error:
        raise ReleaseError(f"GTO refused: {error}") from None
    return tags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=paths.MODEL_NAMES, help="the model to release (dvc.yaml's artifacts)")
    # Both checked as parsed, by GTO's rules: a stage GTO refused after the version's tag was made would leave a
    # half-done release whose retry the tag then blocks.
    parser.add_argument("version", type=_version, help="its version, semantic: v1.1.0")
    parser.add_argument("--stage", type=_stage, help="also assign this stage to the version (dev, prod, ...)")
    args = parser.parse_args(argv)
    try:
        tags = release(paths.find_project_root(), args.model, args.version, args.stage)
    except PipelineError as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    for tag in tags:
        print(f"{PROG}: created git tag {tag}")  # noqa: T201
    print(f"{PROG}: share it with `git push origin {' '.join(tags)}`")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
