"""The installable package, tried as a new user would: a wheel built from the repository holds
the whole app under one import name, installs into a fresh environment, and from a folder far
from the checkout lists every lesson in every language and serves the app."""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import free_port, server

pytestmark = pytest.mark.app
ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("qwenlab", "webui", "demos", "lessons")  # what pyproject.toml packages
INSIDE = {"qwenlab": "qwenlab", "webui": "qwenlab/web", "demos": "qwenlab/demos",
          "lessons": "qwenlab/course"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the tracked sources (a stale build/ folder in the checkout
    could otherwise slip old files in), with this environment's setuptools."""
    tree = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        shutil.copytree(ROOT / name, tree / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", str(tree), "-w", str(out)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("qwenlab-*.whl")
    return found


def test_the_wheel_holds_the_whole_app_under_one_name(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"qwenlab"}  # no generic `webui` or `demos` in a user's site-packages
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".md", ".yaml", ".jinja") and \
                    "__pycache__" not in path.parts:
                inside = f"{INSIDE[folder]}/{path.relative_to(ROOT / folder).as_posix()}"
                assert inside in names, f"{path.relative_to(ROOT)} is not in the wheel"
    assert "qwenlab/course/FORMAT.md" in names
    assert {"qwenlab/course/sw/01-family.md", "qwenlab/web/strings/my.yaml"} <= names


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh environment with the wheel installed; its dependencies are read from the test
    environment's site-packages (a path, so the checkout's editable install is not seen)."""
    env = tmp_path_factory.mktemp("env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True,
                   timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    (Path(site.strip()) / "qwenlab-test-deps.pth").write_text(ours.strip() + "\n")
    return env


def run_installed(env: Path, *args, cwd: Path, **kwargs):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QWENLAB_"))}
    return subprocess.run(args, cwd=cwd, env=clean | kwargs.pop("env", {}), capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_installed_it_runs_from_its_own_files(installed, tmp_path):
    where = run_installed(installed, str(installed / "bin" / "python"), "-c",
                          "import qwenlab.web.shell.app, qwenlab.demos.math, qwenlab.lessons as l;"
                          "print(qwenlab.web.shell.app.__file__, qwenlab.demos.math.__file__, "
                          "l.LESSON_ROOT)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(installed)) for path in where.stdout.split()), where.stdout


def test_installed_it_lists_every_lesson_in_swahili(installed, tmp_path):
    result = run_installed(installed, str(installed / "bin" / "qwenlab"), "lessons", "--json",
                           "--lang", "sw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lessons = json.loads(result.stdout)
    english = sorted(path.name for path in (ROOT / "lessons" / "en").glob("[0-9][0-9]-*.md"))
    assert len(lessons) == len(english) >= 9
    assert all(lesson["lang"] == "sw" and not lesson["stale"] and not lesson["fallback"]
               for lesson in lessons), lessons


def test_installed_it_serves_the_app_with_its_lessons(installed, tmp_path, tiny_dir):
    from qwenlab.lessons import load_lessons

    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
               QWENLAB_MODEL_DIR=str(tiny_dir), QWENLAB_DEVICE="cpu",
               GRADIO_ANALYTICS_ENABLED="False", TMPDIR=str(tmp_path))
    for name in [k for k in env if k.startswith("PYTHON")]:
        env.pop(name)
    url = f"http://127.0.0.1:{port}/"
    with server([str(installed / "bin" / "qwenlab"), "serve"], url, env, f"wheel-{port}",
                cwd=tmp_path):
        config = urllib.request.urlopen(url + "config", timeout=30).read().decode()
    for lesson in load_lessons("en"):
        assert lesson.title in config, lesson.title
