"""Releasing models like a team: versions and stages as GTO's git tags, each model fetched alone by its tag from
a real S3 remote into a fresh clone, checked against its commit's dvc.lock."""

import argparse
import json
import re
import sys
import tempfile
from functools import partial

import numpy as np
import pytest
import yaml
from helpers import REPO_ROOT, clone, locked_out
from PIL import Image
from storage_servers import GitDaemon

from mnist_pipeline import paths
from mnist_pipeline.app import predict, releases
from mnist_pipeline.app.releases import ModelSpec, parse_spec
from mnist_pipeline.errors import ModelLoadError

pytestmark = pytest.mark.e2e
REMOTE = "team"
# The second version the release test makes, and the pull request report compares with the first.
ANOTHER_SEED = {"train_nn": {"cnn": {"epochs": 2}, "seed": 7}}
ANOTHER_SEED_COMMIT = "another seed"


def test_dvc_yaml_declares_every_registered_model_as_an_artifact():
    artifacts = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["artifacts"]
    assert {name: artifact["path"] for name, artifact in artifacts.items()} == {
        name: path.as_posix() for name, path in paths.MODEL_FILES.items()}
    for artifact in artifacts.values():
        assert artifact["type"] == "model" and artifact["desc"] and artifact["labels"]


@pytest.mark.parametrize(("text", "spec"), [
    ("nn", ModelSpec("nn")), ("nn@v1.1.0", ModelSpec("nn", version="v1.1.0")),
    ("logreg#prod", ModelSpec("logreg", stage="prod")),
])
def test_a_model_is_named_alone_by_version_or_by_stage(text, spec):
    assert parse_spec(text) == spec and str(spec) == text


@pytest.mark.parametrize(("text", "message"), [("forest@v1", "unknown model 'forest'"),
                                               ("nn@v1#prod", "is not MODEL, MODEL@VERSION or MODEL#STAGE")])
def test_a_model_spec_that_names_nothing_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(text)


def test_the_release_checks_stage_names_and_versions_by_gtos_own_rules():
    import gto.constants
    from gto.versions import SemVer

    from mnist_pipeline.tools import release

    assert gto.constants.name == release.NAME
    for version in ("v1.0.0", "v1.1.0-rc.1", "v2.0.0+build.5", "1.0.0", "v1.0", "", "vx", "V1.0.0"):
        try:
            accepted = release._version(version) == version
        except argparse.ArgumentTypeError:
            accepted = False
        assert accepted == SemVer.is_valid(version), version


def test_a_release_asked_of_a_folder_that_is_no_git_repository_is_refused_in_a_line(tmp_path):
    for repo in (tmp_path, tmp_path / "missing"):
        with pytest.raises(ModelLoadError, match=rf"^nn@v1.0.0: {re.escape(str(repo))} is no git repository that can "
                                                 rf"be read; give --repo a project's folder or git URL$"):
            releases.fetch_release(parse_spec("nn@v1.0.0"), repo)


@pytest.fixture(scope="module")
def keras():
    """Keras, imported after GTO. Importing GTO reconfigures logging (``logging.config.dictConfig``), which closes
    every handler there is; absl's (TensorFlow's) then closes the stream it was made with, here pytest's capture
    of stderr rather than the process's own."""
    import gto.api  # noqa: F401

    from mnist_pipeline.tensorflow_env import import_keras

    return import_keras()


def release(project, *args: str):
    return project.run(sys.executable, "-m", "mnist_pipeline.tools.release", *args, check=False)


def pictures(project, folder) -> list[str]:
    """Ten test digits as PNG files, dark on light as people write them."""
    with np.load(project.root / paths.PROCESSED_DATA) as data:
        digits = data["x_test"][:10]
    folder.mkdir()
    files = []
    for i, digit in enumerate(digits):
        Image.fromarray(255 - digit).resize((112, 112)).save(folder / f"{i}.png")
        files.append(str(folder / f"{i}.png"))
    return files


def answers(argv: list[str], capsys) -> list[tuple]:
    """Each answer's probability and verdict: a release judges with its commit's sure thresholds, as --rev does."""
    assert predict.main(["--json", *argv]) == 0
    return [(row["probability"], row["sure"], row.get("why")) for row in json.loads(capsys.readouterr().out)]


def add_team_remote(s3, config: dict) -> None:
    """What every clone shares, in .dvc/config: `dvc remote add -d` and `dvc remote modify ... endpointurl`."""
    config["remote"][REMOTE] = {"url": f"s3://{s3.BUCKET}/{REMOTE}", "endpointurl": s3.endpoint}
    config["core"]["remote"] = REMOTE


def add_credentials(s3, config: dict) -> None:
    """The S3 server's keys for the remote, in a clone's .dvc/config.local: `dvc remote modify --local`."""
    config["remote"][REMOTE] = {"access_key_id": s3.access_key, "secret_access_key": s3.secret_key}


def test_two_versions_released_and_each_fetched_alone_by_tag_into_a_fresh_clone(project, s3_server, keras, tmp_path,
                                                                                 capsys, monkeypatch):
    s3 = s3_server
    project.edit_dvc_config("repo", partial(add_team_remote, s3))
    project.edit_dvc_config("local", partial(add_credentials, s3))
    project.commit("add the team's remote")

    # Nothing pushed yet: no teammate could fetch it, so no version.
    refused = release(project, "nn", "v1.0.0")
    assert refused.returncode == 2 and "models/nn.keras is not on the DVC remote" in refused.stderr
    assert "Traceback" not in refused.stderr
    project.dvc("push")
    done = release(project, "nn", "v1.0.0")
    assert done.returncode == 0, done.stderr
    assert "created git tag nn@v1.0.0" in done.stdout

    # A second version: the network retrained on other params, committed, then refused until pushed.
    project.set_params(**ANOTHER_SEED)
    project.repro()
    refused = release(project, "nn", "v1.1.0")
    assert refused.returncode == 2 and "uncommitted changes" in refused.stderr
    project.commit(ANOTHER_SEED_COMMIT)
    assert "is not on the DVC remote" in release(project, "nn", "v1.1.0").stderr
    project.dvc("push")
    done = release(project, "nn", "v1.1.0", "--stage", "dev")
    assert done.returncode == 0, done.stderr
    project.run("gto", "assign", "nn", "--version", "v1.0.0", "--stage", "prod")
    shown = project.run("gto", "show", "nn", "--json").stdout
    assert "v1.0.0" in shown and "v1.1.0" in shown

    files = pictures(project, tmp_path / "pictures")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(project.root)
    expected = {version: answers(["--model", "nn", "--rev", f"nn@{version}", *files], capsys)
                for version in ("v1.0.0", "v1.1.0")}
    assert expected["v1.0.0"] != expected["v1.1.0"]

    # A teammate's fresh clone: tags, no DVC cache, no outputs. Each version comes alone from the S3 remote.
    teammate = clone(project, tmp_path / "teammate")
    teammate.edit_dvc_config("local", partial(add_credentials, s3))
    monkeypatch.chdir(teammate.root)
    assert answers(["--model", "nn#prod", *files], capsys) == expected["v1.0.0"]
    assert answers(["--model", "nn@v1.1.0", *files], capsys) == expected["v1.1.0"]
    assert answers(["--model", "nn#dev", *files], capsys) == expected["v1.1.0"]
    # The drawing page serves the released model it is given.
    from mnist_pipeline.app import serve

    served = []
    monkeypatch.setattr(serve, "run", lambda models, host, port: served.append(models))
    assert predict.main(["--model", "nn#prod", "--serve"]) == 0
    digits, papers, apart = predict.read_images(files)
    judged = [(row["probability"], row["sure"], row.get("why"))
              for row in predict.predict_images(files, digits, *served, papers, apart)]
    assert judged == expected["v1.0.0"]  # with the release's sure threshold too
    assert not list((teammate.root / "models").glob("*.keras"))  # nothing checked out
    cached = sorted(path.name for path in releases.cache_dir().iterdir())
    assert len(cached) == 2 and all(name.endswith(".keras") for name in cached)
    # From outside any clone, the project named by --repo.
    monkeypatch.chdir(tmp_path)
    assert answers(["--model", "nn@v1.0.0", "--repo", str(teammate.root), *files], capsys) == expected["v1.0.0"]
    # From a git server's URL, with no clone at all: the S3 credentials from the environment, where boto reads
    # them on a teammate's machine, and the model downloaded again.
    for path in releases.cache_dir().iterdir():
        path.unlink()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    temporary = tmp_path / "temporary"  # where DVC clones the repository at the URL, and makes it a cache
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    with GitDaemon(tmp_path) as git_server:
        url = git_server.url("teammate")
        assert answers(["--model", "nn#prod", "--repo", url, *files], capsys) == expected["v1.0.0"]
        with pytest.raises(SystemExit):
            predict.main(["--model", "nn#staging", "--repo", url, *files])
        err = capsys.readouterr().err
        assert f"nn#staging: no stage staging of nn in {url}" in err and len(err.strip().splitlines()) == 1
    assert not list(temporary.iterdir())  # the clones and their caches removed, the found one's and the refused's

    # A missing version, then a tampered object on the remote: one-line errors naming them.
    with pytest.raises(SystemExit):
        predict.main(["--model", "nn@v9.9.9", "--repo", str(teammate.root), *files])
    assert "nn@v9.9.9: no version v9.9.9 of nn" in capsys.readouterr().err
    md5 = locked_out(teammate.git("show", "nn@v1.1.0:dvc.lock").stdout, "train_nn", "models/nn.keras")["md5"]
    import s3fs

    fs = s3fs.S3FileSystem(key=s3.access_key, secret=s3.secret_key, skip_instance_cache=True,
                           client_kwargs={"endpoint_url": s3.endpoint})
    key = f"{s3.BUCKET}/{REMOTE}/files/md5/{md5[:2]}/{md5[2:]}"
    stored = bytearray(fs.cat(key))
    stored[len(stored) // 2] ^= 0xFF
    fs.pipe(key, bytes(stored))
    assert not (teammate.root / ".dvc" / "cache").exists() or not any(
        path.is_file() for path in (teammate.root / ".dvc" / "cache").rglob("*"))  # streamed, never cached there
    for path in releases.cache_dir().iterdir():
        path.unlink()
    with pytest.raises(SystemExit):
        predict.main(["--model", "nn@v1.1.0", "--repo", str(teammate.root), *files])
    err = capsys.readouterr().err
    assert "models/nn.keras at nn@v1.1.0 has md5" in err and f"not the {md5} its dvc.lock records" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(releases.cache_dir().iterdir()) == []  # nothing damaged kept
    # The object gone from the remote: one line, naming the model, the version and where it was looked for.
    fs.rm(key)
    with pytest.raises(SystemExit):
        predict.main(["--model", "nn@v1.1.0", "--repo", str(teammate.root), *files])
    err = capsys.readouterr().err
    assert f"models/nn.keras at nn@v1.1.0 (md5 {md5}) is in neither this project's DVC cache nor its remote" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(releases.cache_dir().iterdir()) == []


def test_the_pull_request_report_writes_both_sides_plots_as_images_beside_its_markdown(project, tmp_path):
    # HEAD (another seed) and HEAD~1 hold different networks, both in the DVC cache: as the release test leaves the
    # module's project, or made here where that test did not run (`pytest -k`, `--deselect`).
    if project.git("log", "-1", "--format=%s").stdout.strip() != ANOTHER_SEED_COMMIT:
        project.set_params(**ANOTHER_SEED)
        project.repro()
        project.commit(ANOTHER_SEED_COMMIT)
    out = tmp_path / "review"
    done = project.run(sys.executable, "-m", "mnist_pipeline.tools.pr_report", "HEAD~1", "--out", str(out))
    markdown = (out / "report.md").read_text()
    assert done.stdout.strip() == markdown.strip()
    for heading in ("Is the change real?", "Metrics:", "Params:", "Plots:"):
        assert f"## {heading} workspace against HEAD~1" in markdown.replace("Workspace", "workspace")
    linked = re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown)
    assert sorted(linked) == sorted(path.name for path in out.glob("*.png"))
    for name in linked:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 100
    # The Vega-Lite plots rendered (the confusion matrices and reliability diagrams of both sides in one chart
    # each, the curves), and each figure once for each side.
    for plot in ("reports_predictions_nn_csv", "reports_calibration_nn_csv", "training_loss"):
        assert f"{plot}.png" in linked
    assert {"reports_figures_confusion_nn_png_HEAD_1.png", "reports_figures_confusion_nn_png_workspace.png"} <= set(
        linked)
