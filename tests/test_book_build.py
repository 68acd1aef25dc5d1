"""The book's build extension prepares what the parallel chapter readers share."""

from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace

from jupyter_cache import get_cache
from test_lab import _load_book_extension

reclearn_book = _load_book_extension()


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
