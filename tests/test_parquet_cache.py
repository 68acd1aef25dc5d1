"""A downloaded archive is parsed once, then read from its Parquet copy."""

from __future__ import annotations

import zipfile

import pytest

from reclearn import data


@pytest.fixture
def archive(tmp_path):
    """A tiny zip laid out like ml-25m's."""
    path = tmp_path / "ml-25m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "ml-25m/ratings.csv",
            "userId,movieId,rating,timestamp\n1,10,4.5,100\n1,20,3.0,200\n2,10,0.5,300\n",
        )
        zf.writestr(
            "ml-25m/movies.csv",
            "movieId,title,genres\n10,Heat (1995),Action|Crime\n20,Up (2009),Animation\n"
            "30,Nothing (2000),(no genres listed)\n",
        )
    return path


def test_the_second_load_reads_the_parquet_copy_and_equals_the_first(archive, monkeypatch):
    first = data.load_archive_cached("ml-25m", archive)
    assert len(list(archive.parent.glob("ml-25m-*.parquet"))) == 2

    def no_parsing(*_):
        raise AssertionError("the archive was parsed again")

    monkeypatch.setattr(data, "_load_archive", no_parsing)
    second = data.load_archive_cached("ml-25m", archive)
    assert second.ratings.equals(first.ratings)
    assert second.items.drop(columns="genres").equals(first.items.drop(columns="genres"))
    assert list(second.items["genres"]) == [["Action", "Crime"], ["Animation"], []]
    assert str(second.ratings["rating"].dtype) == "float32"
    assert list(second.ratings["user_id"].cat.categories) == ["1", "2"]
    assert second.rating_scale == (0.5, 5.0)
