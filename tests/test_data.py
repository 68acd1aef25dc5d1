"""Readers, checksums, the archive registry and the synthetic generator."""

import dataclasses
import hashlib
import io
import shutil
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import data
from reclearn.data import DataError

BUNDLED = data.DATA_DIR / "ml-latest-small"


# --- the bundled ml-latest-small ----------------------------------------------------


def test_ml_latest_small_has_the_published_counts(movielens):
    ratings = movielens.ratings
    assert len(ratings) == 100_836
    assert ratings.user_id.nunique() == 610
    assert ratings.item_id.nunique() == 9_724
    assert len(movielens.items) == 9_742
    assert len(movielens.tags) == 3_683
    assert movielens.rating_scale == (0.5, 5.0)
    assert movielens.name == "ml-latest-small"


def test_ml_latest_small_ratings_have_tidy_columns_and_dtypes(movielens):
    ratings = movielens.ratings
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    for column in ("user_id", "item_id"):
        assert isinstance(ratings[column].dtype, pd.CategoricalDtype)
        assert all(isinstance(c, str) for c in ratings[column].cat.categories[:50])
    assert ratings.rating.dtype == np.float64
    assert ratings.timestamp.dtype == np.int64
    assert ratings.rating.min() == 0.5 and ratings.rating.max() == 5.0


def test_ratings_items_and_tags_share_one_item_index_space(movielens):
    categories = movielens.ratings.item_id.cat.categories
    assert movielens.items.item_id.cat.categories.equals(categories)
    assert movielens.tags.item_id.cat.categories.equals(categories)
    assert len(categories) == 9_742  # every item, rated or not
    assert movielens.tags.user_id.cat.categories.equals(movielens.ratings.user_id.cat.categories)


def test_ids_are_sorted_numerically(movielens):
    assert list(movielens.ratings.user_id.cat.categories[:3]) == ["1", "2", "3"]
    assert list(movielens.items.item_id.cat.categories[:3]) == ["1", "2", "3"]


def test_items_have_title_year_and_genre_lists(movielens):
    items = movielens.items
    assert list(items.columns) == ["item_id", "title", "year", "genres"]
    toy_story = items[items.item_id == "1"].iloc[0]
    assert toy_story.title == "Toy Story"
    assert toy_story.year == 1995
    assert "Animation" in toy_story.genres
    assert toy_story.genres == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert str(items.year.dtype) == "Int64"


def test_movies_without_genres_get_an_empty_list(movielens):
    raw = pd.read_csv(BUNDLED / "movies.csv", dtype={"movieId": str})
    no_genres = set(raw.loc[raw.genres == "(no genres listed)", "movieId"])
    assert len(no_genres) == 34
    tidy = movielens.items[movielens.items.item_id.astype(str).isin(no_genres)]
    assert len(tidy) == 34
    assert all(g == [] for g in tidy.genres)


def test_titles_with_a_year_range_keep_the_first_year():
    movies = pd.DataFrame(
        {
            "item_id": ["1", "2", "3"],
            "title": ["Show (2005-2007)", "Film Without Year", "Other (1999) "],
            "genres": ["Drama", "(no genres listed)", None],
        }
    )
    tidy = data._tidy_movies(movies)
    assert list(tidy.title) == ["Show", "Film Without Year", "Other"]
    assert tidy.year.tolist() == [2005, pd.NA, 1999]
    assert list(tidy.genres) == [["Drama"], [], []]


def test_the_dataset_repr_counts_ratings_users_and_items(movielens):
    assert repr(movielens) == "Dataset('ml-latest-small': 100,836 ratings, 610 users, 9,724 items)"


def test_bundled_files_match_their_recorded_checksums():
    data.verify_bundled("ml-latest-small")  # raises on any difference


@pytest.fixture
def bundled_copy(tmp_path):
    copy = tmp_path / "ml-latest-small"
    shutil.copytree(BUNDLED, copy)
    return copy


def test_a_changed_bundled_file_raises_a_data_error_naming_it(bundled_copy):
    ratings = bundled_copy / "ratings.csv"
    content = bytearray(ratings.read_bytes())
    content[-3] = ord("9") if content[-3] != ord("9") else ord("8")
    ratings.write_bytes(bytes(content))
    with pytest.raises(DataError, match=r"ratings\.csv was changed"):
        data._load_ml_latest_small(bundled_copy)
    with pytest.raises(DataError, match="git checkout"):
        data.verify_bundled("ml-latest-small", bundled_copy)


def test_a_missing_bundled_file_raises_a_data_error_naming_it(bundled_copy):
    (bundled_copy / "tags.csv").unlink()
    with pytest.raises(DataError, match=r"tags\.csv is missing"):
        data._load_ml_latest_small(bundled_copy)


def test_an_unchanged_copy_of_the_bundled_files_loads(bundled_copy):
    assert len(data._load_ml_latest_small(bundled_copy).ratings) == 100_836


# --- registered archives ------------------------------------------------------------


def test_the_registry_lists_five_movielens_archives_with_checksums():
    assert list(data.REGISTRY) == ["ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m"]
    for name, spec in data.REGISTRY.items():
        algorithm, digest = spec.checksum.split(":")
        assert algorithm in ("sha256", "md5"), name
        assert len(digest) == {"sha256": 64, "md5": 32}[algorithm], name
        assert int(digest, 16) >= 0
        assert spec.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
    assert data.REGISTRY["ml-10m"].checksum.startswith("md5:")


def test_available_lists_bundled_and_registered_data_sets():
    table = data.available()
    assert list(table.name) == [
        "ml-latest-small", "synthetic", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m",
    ]  # fmt: skip
    assert list(table.bundled) == [True, True, False, False, False, False, False]


def test_an_unknown_data_set_name_raises_a_value_error_listing_known_names():
    with pytest.raises(ValueError, match="unknown data set 'ml-2k'") as info:
        reclearn.load_dataset("ml-2k")
    for name in ("ml-latest-small", "synthetic", "ml-100k", "ml-1m", "ml-25m"):
        assert name in str(info.value)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty DATA_DIR, so no cached archive is found."""
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    return tmp_path


def test_a_missing_archive_raises_a_data_error_saying_where_to_put_it(data_dir):
    with pytest.raises(DataError) as info:
        reclearn.load_dataset("ml-1m")
    message = str(info.value)
    assert "ml-1m.zip" in message
    assert str(data_dir / "downloads" / "ml-1m.zip") in message
    assert "path=" in message and "download=True" in message


def test_a_missing_file_passed_as_path_raises_a_data_error(data_dir):
    with pytest.raises(DataError, match="ml-1m.zip"):
        reclearn.load_dataset("ml-1m", path=data_dir / "nowhere.zip", download=True)


def test_a_download_without_network_raises_a_data_error_and_keeps_no_part_file(
    data_dir, monkeypatch
):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DataError, match="could not download .*ml-100k.zip .*no network"):
        reclearn.load_dataset("ml-100k", download=True)
    assert list(data_dir.rglob("*.part")) == []
    assert not (data_dir / "downloads" / "ml-100k.zip").exists()


def test_a_local_file_with_the_wrong_checksum_raises_a_data_error(tmp_path):
    fake = tmp_path / "ml-1m.zip"
    fake.write_bytes(b"not the real archive")
    with pytest.raises(DataError, match="does not match the published checksum of ml-1m"):
        reclearn.load_dataset("ml-1m", path=fake)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _register(monkeypatch, name: str, payload: bytes) -> None:
    """Make the registry accept ``payload`` as the archive ``name``."""
    spec = data.REGISTRY[name]
    checksum = "sha256:" + hashlib.sha256(payload).hexdigest()
    monkeypatch.setitem(data.REGISTRY, name, dataclasses.replace(spec, checksum=checksum))


ML_1M = _zip(
    {
        "ml-1m/ratings.dat": b"1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n",
        "ml-1m/movies.dat": b"10::GoldenEye (1995)::Action|Adventure|Thriller\n"
        b"20::Money Train (1995)::Action\n30::Unrated (2000)::Drama\n",
    }
)


def test_a_successful_download_is_verified_and_renamed_atomically(data_dir, monkeypatch):
    _register(monkeypatch, "ml-1m", ML_1M)
    urls = []

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        return io.BytesIO(ML_1M)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    dataset = reclearn.load_dataset("ml-1m", download=True)
    final = data_dir / "downloads" / "ml-1m.zip"
    assert final.read_bytes() == ML_1M
    assert list(data_dir.rglob("*.part")) == []
    assert urls == ["https://files.grouplens.org/datasets/movielens/ml-1m.zip"]
    assert dataset.rating_scale == (1.0, 5.0)
    assert dataset.ratings.rating.tolist() == [5.0, 3.0, 4.0]
    assert dataset.ratings.timestamp.tolist() == [978300760, 978302109, 978301968]
    assert dataset.items.title.tolist() == ["GoldenEye", "Money Train", "Unrated"]
    assert list(dataset.ratings.item_id.cat.categories) == ["10", "20", "30"]

    # the cached copy is used without a network from now on
    monkeypatch.setattr(urllib.request, "urlopen", None)
    assert len(reclearn.load_dataset("ml-1m").ratings) == 3


def test_a_corrupt_download_is_deleted(data_dir, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(b"junk"))
    with pytest.raises(DataError, match="nothing was kept"):
        reclearn.load_dataset("ml-1m", download=True)
    assert list(data_dir.rglob("*")) == [data_dir / "downloads"]


def test_a_trickling_download_is_given_up_at_the_deadline_and_leaves_no_file(data_dir, monkeypatch):
    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return b"x"  # one byte a read, for ever

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Trickle())
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 0.2)
    with pytest.raises(DataError, match="could not download .*gave up after 0.2 s"):
        reclearn.load_dataset("ml-1m", download=True)
    assert list(data_dir.rglob("*")) == [data_dir / "downloads"]


def test_an_interrupted_download_leaves_no_part_file(data_dir, monkeypatch):
    class Interrupted(io.BytesIO):
        def read(self, size=-1):
            raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Interrupted())
    with pytest.raises(KeyboardInterrupt):
        reclearn.load_dataset("ml-1m", download=True)
    assert list(data_dir.rglob("*")) == [data_dir / "downloads"]


def test_an_ml_100k_archive_is_read_with_its_own_format(tmp_path, monkeypatch):
    flags = "|".join(["0"] * 19)
    item = f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\n".encode()
    item = item.replace(b"|0|0|0|0|0", b"|0|0|0|1|0", 1)  # fourth genre flag: Animation
    payload = _zip({"ml-100k/u.data": b"196\t1\t3\t881250949\n", "ml-100k/u.item": item})
    _register(monkeypatch, "ml-100k", payload)
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(payload)
    dataset = reclearn.load_dataset("ml-100k", path=archive)
    assert dataset.ratings.to_dict("records") == [
        {"user_id": "196", "item_id": "1", "rating": 3.0, "timestamp": 881250949}
    ]
    assert dataset.items.genres.tolist() == [["Animation"]]
    assert dataset.items.year.tolist() == [1995]


def test_an_ml_20m_archive_is_read_from_csv(tmp_path, monkeypatch):
    payload = _zip(
        {
            "ml-20m/ratings.csv": b"userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n",
            "ml-20m/movies.csv": b"movieId,title,genres\n2,Jumanji (1995),Adventure|Children\n",
        }
    )
    _register(monkeypatch, "ml-20m", payload)
    archive = tmp_path / "ml-20m.zip"
    archive.write_bytes(payload)
    dataset = reclearn.load_dataset("ml-20m", path=archive)
    assert dataset.rating_scale == (0.5, 5.0)
    assert dataset.ratings.rating.tolist() == [3.5]
    assert dataset.items.genres.tolist() == [["Adventure", "Children"]]


# --- synthetic data -----------------------------------------------------------------


def test_make_synthetic_has_the_requested_shape_and_density():
    dataset = reclearn.make_synthetic(num_users=50, num_items=40, density=0.25, seed=3)
    ratings = dataset.ratings
    assert len(ratings) == 50 * 10
    assert len(ratings) / (50 * 40) == 0.25
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ratings.user_id.cat.categories) == 50
    assert len(ratings.item_id.cat.categories) == 40
    assert ratings.groupby("user_id", observed=True).size().eq(10).all()
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert len(dataset.items) == 40
    assert dataset.name == "synthetic"
    low, high = dataset.rating_scale
    assert low <= ratings.rating.min() and ratings.rating.max() <= high


def test_a_data_set_without_tags_has_an_empty_tags_frame_with_the_tag_columns():
    tags = reclearn.make_synthetic(num_users=30, num_items=20, seed=7).tags
    assert tags.empty and list(tags.columns) == ["user_id", "item_id", "tag", "timestamp"]
    assert tags.user_id.nunique() == 0 and tags.tag.str.lower().value_counts().empty


def test_make_synthetic_is_deterministic_for_a_seed():
    first = reclearn.make_synthetic(num_users=30, num_items=20, seed=7)
    again = reclearn.make_synthetic(num_users=30, num_items=20, seed=7)
    other = reclearn.make_synthetic(num_users=30, num_items=20, seed=8)
    pd.testing.assert_frame_equal(first.ratings, again.ratings)
    np.testing.assert_array_equal(first.truth.user_factors, again.truth.user_factors)
    assert not first.ratings.rating.equals(other.ratings.rating)


def test_load_dataset_synthetic_passes_options_to_make_synthetic():
    via_name = reclearn.load_dataset("synthetic", num_users=30, num_items=20, seed=7)
    direct = reclearn.make_synthetic(num_users=30, num_items=20, seed=7)
    pd.testing.assert_frame_equal(via_name.ratings, direct.ratings)


def test_make_synthetic_exposes_the_planted_truth():
    dataset = reclearn.make_synthetic(
        num_users=30, num_items=20, num_factors=3, noise_sigma=0.25, global_mean=3.0, seed=1
    )
    truth = dataset.truth
    assert truth.global_mean == 3.0
    assert truth.noise_sigma == 0.25
    assert truth.user_bias.shape == (30,)
    assert truth.item_bias.shape == (20,)
    assert truth.user_factors.shape == (30, 3)
    assert truth.item_factors.shape == (20, 3)


def test_the_planted_model_misses_the_ratings_by_the_noise_floor():
    dataset = reclearn.make_synthetic(seed=0)
    truth, ratings = dataset.truth, dataset.ratings
    u = ratings.user_id.cat.codes.to_numpy()
    i = ratings.item_id.cat.codes.to_numpy()
    clean = (
        truth.global_mean
        + truth.user_bias[u]
        + truth.item_bias[i]
        + np.einsum("nk,nk->n", truth.user_factors[u], truth.item_factors[i])
    )
    floor = reclearn.metrics.rmse(clean, ratings.rating)
    assert floor == pytest.approx(truth.noise_sigma, rel=0.05)


def test_make_synthetic_popularity_skew_gives_a_long_tail():
    skewed = reclearn.make_synthetic(popularity_skew=1.0, seed=0).ratings
    uniform = reclearn.make_synthetic(popularity_skew=0.0, seed=0).ratings
    top = lambda r: r.item_id.value_counts().iloc[:40].sum() / len(r)  # noqa: E731
    assert top(skewed) > 2 * top(uniform)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_users": 0}, "at least 1"),
        ({"num_items": 0}, "at least 1"),
        ({"num_factors": 0}, "at least 1"),
        ({"density": 0.0}, "density must be in"),
        ({"density": 1.5}, "density must be in"),
        ({"noise_sigma": -0.1}, "noise_sigma must be non-negative"),
    ],
)
def test_make_synthetic_rejects_bad_arguments(options, message):
    with pytest.raises(ValueError, match=message):
        reclearn.make_synthetic(**options)
