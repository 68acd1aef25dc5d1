"""The book's build extension prepares what the parallel chapter readers share."""

import contextlib
import fcntl
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import nbformat
from jupyter_cache import get_cache
from nbclient import NotebookClient
from test_lab import _load_ext

reclearn_book = _load_ext()


def _count_records(path: str) -> int:
    return len(get_cache(path).list_cache_records())


def test_the_execution_cache_exists_before_parallel_readers_open_it(tmp_path):
    path = tmp_path / "_build" / ".jupyter_cache"
    config = SimpleNamespace(execution_mode="cache", execution_cache_path=str(path))
    reclearn_book.create_execution_cache(SimpleNamespace(env=SimpleNamespace(mystnb_config=config)))
    assert (path / "global.db").is_file()
    with ProcessPoolExecutor(4) as pool:
        assert list(pool.map(_count_records, [str(path)] * 8)) == [0] * 8


def test_no_cache_is_made_when_chapters_are_not_cached(tmp_path):
    path = tmp_path / ".jupyter_cache"
    config = SimpleNamespace(execution_mode="off", execution_cache_path=str(path))
    reclearn_book.create_execution_cache(SimpleNamespace(env=SimpleNamespace(mystnb_config=config)))
    assert not path.exists()


def test_a_kernel_waits_for_the_start_lock_and_releases_it(tmp_path, monkeypatch):
    build_book = _load_ext("build_book")
    lock_path = tmp_path / "kernel-start.lock"
    monkeypatch.setattr(build_book, "KERNEL_START_LOCK", lock_path)
    for name in ("async_start_new_kernel", "async_start_new_kernel_client"):
        monkeypatch.setattr(NotebookClient, name, getattr(NotebookClient, name))
    build_book.one_kernel_start_at_a_time()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    client = NotebookClient(notebook, kernel_name="python3", startup_timeout=120)
    with lock_path.open("w") as held:  # another reading process starting its kernel
        fcntl.flock(held, fcntl.LOCK_EX)
        run = threading.Thread(target=client.execute)
        run.start()
        run.join(timeout=3)
        assert run.is_alive()  # waiting for the lock
    run.join(timeout=120)
    assert notebook.cells[0].outputs[0]["text"] == "42\n"
    with lock_path.open("w") as after:
        fcntl.flock(after, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: no wait


def test_the_slowest_chapters_are_read_first_and_every_chapter_alone():
    build_book = _load_ext("build_book")
    root = Path(__file__).resolve().parents[1]
    names = sorted(
        str(path.relative_to(root).with_suffix("")) for path in root.glob("chapters/*.md")
    )
    assert set(build_book.SLOWEST_FIRST) <= set(names)  # no stale name
    with contextlib.chdir(root):
        batches = build_book.one_document_per_process(names, nproc=4)
    assert all(len(batch) == 1 for batch in batches)
    order = [batch[0] for batch in batches]
    assert order[: len(build_book.SLOWEST_FIRST)] == list(build_book.SLOWEST_FIRST)
    assert sorted(order) == names
