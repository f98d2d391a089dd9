"""run_info.json names the framework's own version and checkout, never the user's repository as its own."""

import subprocess
from pathlib import Path

from ssl_universal import __version__
from ssl_universal.provenance import framework_checkout, git_commit, run_info

REPO = Path(__file__).resolve().parent.parent


def test_an_editable_install_names_its_own_checkout_and_commit():
    assert framework_checkout() == REPO  # the test suite runs on `pip install -e .`
    info = run_info(world_size=1)
    assert info["version"] == __version__ and info["framework_checkout"] == str(REPO)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert info["framework_commit"].split("-")[0] == head


def test_a_folder_inside_a_users_repository_is_not_taken_for_the_framework(tmp_path):
    project = tmp_path / "user_project"
    (project / "venv_site" / "pkg").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    inner = project / "venv_site" / "pkg"
    assert git_commit(inner, top_only=True) is None  # the user's commit is not the framework's
    assert git_commit(inner) is not None and git_commit(project, top_only=True) == git_commit(project)
    assert git_commit(tmp_path / "not_a_repo") is None
