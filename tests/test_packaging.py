"""A plain (non-editable) install: the wheel carries every module and the bundled data,
and the command line works from it with no checkout in sight."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from reclearn import data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Build from a copy, so setuptools' build/ and egg-info never land in the checkout.
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "downloads")
    for folder in ("reclearn", "data"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for file in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / file, source / file)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("reclearn-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


def test_the_wheel_holds_every_module_of_the_checkout(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "reclearn").rglob("*.py")}
    assert modules - names == set(), "add the missing subpackage to pyproject's packages"


def test_the_wheel_holds_the_bundled_data_and_its_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for filename in data.BUNDLED_SHA256["ml-latest-small"]:
        assert f"reclearn/_bundled/ml-latest-small/{filename}" in names
    assert not any("downloads" in name for name in names), "the download cache must not ship"


def run_installed(installed, tmp_path, *args):
    """Run ``python *args`` with only the installed wheel importable, away from the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("RECLEARN_DATA", "PYTHONPATH")}
    env |= {"PYTHONPATH": str(installed), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip


def test_the_installed_package_is_the_one_imported(installed, tmp_path):
    result = run_installed(installed, tmp_path, "-c", "import reclearn; print(reclearn.__file__)")
    assert Path(result.stdout.strip()).is_relative_to(installed)


def test_stats_and_datasets_work_from_the_wheel_alone(installed, tmp_path):
    stats = run_installed(installed, tmp_path, "-m", "reclearn", "stats", "ml-latest-small")
    assert stats.returncode == 0, stats.stderr
    assert "100,836" in stats.stdout
    listing = run_installed(installed, tmp_path, "-m", "reclearn", "datasets")
    assert listing.returncode == 0, listing.stderr
    assert str(installed / "reclearn" / "_bundled" / "ml-latest-small") in listing.stdout
    assert str(tmp_path / "cache" / "reclearn" / "downloads") in listing.stdout


def test_help_works_from_the_wheel_alone(installed, tmp_path):
    result = run_installed(installed, tmp_path, "-m", "reclearn", "--help")
    assert result.returncode == 0, result.stderr
    assert "bench" in result.stdout


def test_bundled_dir_falls_back_to_the_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "empty")
    monkeypatch.setattr(data, "_PACKAGED_DATA", ROOT / "data")
    assert data.bundled_dir("ml-latest-small") == ROOT / "data" / "ml-latest-small"
    monkeypatch.setattr(data, "_PACKAGED_DATA", tmp_path / "nowhere")
    assert data.bundled_dir("ml-latest-small") == tmp_path / "empty" / "ml-latest-small"


def test_data_dir_prefers_the_environment_then_the_checkout_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECLEARN_DATA", str(tmp_path / "mine"))
    assert data._default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("RECLEARN_DATA")
    assert data._default_data_dir() == ROOT / "data"
    monkeypatch.setattr(data, "_SOURCE_DATA", tmp_path / "no-checkout")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data._default_data_dir() == tmp_path / "xdg" / "reclearn"
