"""Negative sampling: never a positive, seeded, and a byte-identical stored negatives file."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from reclearn import sampling
from reclearn.sampling import PositiveSets, sample_negatives


@pytest.fixture(scope="module")
def positives():
    """200 users, 300 items, each user with 10 to 150 positives."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for user in range(200):
        chosen = rng.choice(300, int(rng.integers(10, 151)), replace=False)
        users += [user] * len(chosen)
        items += chosen.tolist()
    return PositiveSets(np.array(users), np.array(items), 200, 300)


@pytest.mark.parametrize("replace", [True, False])
def test_no_negative_among_ten_thousand_draws_is_a_positive_of_its_user(positives, replace):
    users = np.arange(1000) % 200
    draws = sample_negatives(positives, users, 10, np.random.default_rng(1), replace=replace)
    assert draws.shape == (1000, 10)
    assert not positives.contains(np.repeat(users, 10).reshape(draws.shape), draws).any()
    for user, row in zip(users[:200], draws[:200], strict=True):  # and by a plain set test
        assert not set(row.tolist()) & set(positives.of(user).tolist())


def test_draws_without_replacement_are_distinct_within_each_row(positives):
    draws = sample_negatives(positives, np.arange(200), 99, np.random.default_rng(2), replace=False)
    assert all(len(set(row.tolist())) == 99 for row in draws)


def test_draws_with_replacement_may_repeat_an_item_within_a_row():
    few = PositiveSets(np.array([0]), np.array([0]), 1, 3)  # two negatives to draw from
    draws = sample_negatives(few, np.array([0]), 20, np.random.default_rng(0), replace=True)
    assert set(draws.ravel().tolist()) == {1, 2}


def test_negatives_are_uniform_over_the_items_a_user_never_interacted_with():
    few = PositiveSets(np.array([0, 0]), np.array([0, 3]), 1, 6)
    draws = sample_negatives(few, np.zeros(20_000, int), 1, np.random.default_rng(0))
    counts = np.bincount(draws.ravel(), minlength=6)
    assert counts[[0, 3]].tolist() == [0, 0]
    assert np.all(np.abs(counts[[1, 2, 4, 5]] - 5000) < 300)  # 4.2 standard deviations


def test_the_same_seed_gives_the_same_draws_and_later_epochs_draw_afresh(positives):
    users = np.arange(200)
    rng = np.random.default_rng(5)
    first = sample_negatives(positives, users, 4, rng)
    second = sample_negatives(positives, users, 4, rng)
    assert not np.array_equal(first, second)
    again = sample_negatives(positives, users, 4, np.random.default_rng(5))
    assert np.array_equal(first, again)


def test_impossible_draws_raise_clear_errors():
    full = PositiveSets(np.array([0, 0, 1]), np.array([0, 1, 0]), 2, 2)
    with pytest.raises(ValueError, match="interacted with every item"):
        sample_negatives(full, np.array([0]), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot draw 2 distinct negatives: a user has only 1"):
        sample_negatives(full, np.array([1]), 2, np.random.default_rng(0), replace=False)


def test_positive_sets_reject_unknown_indices():
    with pytest.raises(ValueError, match="non-negative"):
        PositiveSets(np.array([0, -1]), np.array([0, 1]), 2, 2)
    with pytest.raises(ValueError, match="item index 5 is out of range .* num_items=3"):
        PositiveSets(np.array([0]), np.array([5]), 1, 3)


def test_implicit_keeps_every_rating_or_those_reaching_the_threshold():
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [3.5, 4, 5]})
    assert len(sampling.implicit(ratings)) == 3
    assert sampling.implicit(ratings, threshold=4)["rating"].tolist() == [4, 5]


def _stored_negatives(positives, path, seed):
    test_users = np.arange(200)
    test_items = np.array([positives.of(u)[0] for u in test_users])
    negatives = sampling.sampled_protocol_negatives(positives, test_users, 99, seed=seed)
    item_ids = np.array([f"m{i}" for i in range(300)])
    digest = sampling.save_negatives(
        path, [f"u{u}" for u in test_users], item_ids[test_items], item_ids[negatives]
    )
    return digest, negatives


def test_the_stored_negatives_file_is_byte_identical_for_the_same_seed(positives, tmp_path):
    one, _ = _stored_negatives(positives, tmp_path / "a.csv", seed=0)
    two, _ = _stored_negatives(positives, tmp_path / "b.csv", seed=0)
    other, _ = _stored_negatives(positives, tmp_path / "c.csv", seed=1)
    data = (tmp_path / "a.csv").read_bytes()
    assert data == (tmp_path / "b.csv").read_bytes()
    assert one == two == hashlib.sha256(data).hexdigest()
    assert other != one
    assert not list(tmp_path.glob("*.part"))  # written atomically


def test_the_stored_negatives_file_contains_no_positive(positives, tmp_path):
    _, negatives = _stored_negatives(positives, tmp_path / "n.csv", seed=0)
    frame = sampling.load_negatives(tmp_path / "n.csv")
    assert list(frame.columns) == ["user_id", "item_id", "negatives"]
    loaded = np.array([[int(i[1:]) for i in row] for row in frame["negatives"]])
    assert np.array_equal(loaded, negatives)
    users = np.array([int(u[1:]) for u in frame["user_id"]])
    assert not positives.contains(np.repeat(users, 99).reshape(loaded.shape), loaded).any()
    assert all(len(set(row.tolist())) == 99 for row in loaded)


def test_sampling_for_an_unknown_user_index_raises_instead_of_wrapping_around(positives):
    with pytest.raises(ValueError, match=r"user indices must lie in \[0, 200\)"):
        sample_negatives(positives, np.array([3, -1]), 2, np.random.default_rng(0))
