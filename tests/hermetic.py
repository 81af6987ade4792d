"""Tests that come out the same whatever the user's git and DVC settings are.

A developer's global git config may sign every commit, run hooks from ``core.hooksPath`` or name another
default branch; a global or system DVC config may set a default remote, a shared cache or a site cache; an
exported ``GIT_DIR`` or ``DVC_STUDIO_TOKEN`` would redirect or publish what the tests do. The test session
runs, and starts every subprocess, with an environment that points git and DVC at empty configurations of
its own and carries none of those variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


def hermetic_environ(environ: Mapping[str, str], config_home: Path) -> dict[str, str]:
    """``environ`` without git's and DVC's variables, pointing both at empty configurations in ``config_home``."""
    config_home.mkdir(parents=True, exist_ok=True)
    empty_gitconfig = config_home / "gitconfig"
    empty_gitconfig.touch()
    env = {key: value for key, value in environ.items() if not key.startswith(("GIT_", "DVC_"))}
    env.update(GIT_IDENTITY)
    env.update({
        "GIT_CONFIG_GLOBAL": str(empty_gitconfig),  # instead of ~/.gitconfig and $XDG_CONFIG_HOME/git/config
        "GIT_CONFIG_NOSYSTEM": "1",  # no /etc/gitconfig
        "DVC_GLOBAL_CONFIG_DIR": str(config_home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(config_home / "dvc-system"),
        "DVC_SITE_CACHE_DIR": str(config_home / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_STUDIO_OFFLINE": "1",
    })
    return env
