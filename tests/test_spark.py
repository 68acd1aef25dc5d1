"""Spark MLlib ALS behind the Recommender interface (one Spark session per module)."""

from __future__ import annotations

import numpy as np
import pytest

from reclearn import build
from reclearn.spark import JAVA_MISSING, check_java

pytestmark = pytest.mark.xdist_group("spark")  # one worker, one Spark session


def test_a_missing_java_runtime_says_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make java"):
        check_java()
    assert "openjdk-17-jre-headless" in JAVA_MISSING


def test_bad_options_are_refused_before_spark_starts():
    with pytest.raises(ValueError, match="factors"):
        build("spark-als", factors=0)
    with pytest.raises(ValueError, match="master"):
        build("spark-als", master="")


@pytest.fixture(scope="module")
def fitted(small):
    """Spark ALS on the small synthetic set, local[1] (a session starts once, ~8 s)."""
    pytest.importorskip("pyspark")
    check_java()
    return build("spark-als", factors=8, iterations=5, master="local[1]").fit(small.ratings)


@pytest.mark.slow
def test_spark_als_honours_the_recommender_contract(fitted, small):
    users = small.ratings["user_id"].unique()[:5]
    top = fitted.recommend(users, k=5)
    assert len(top) == 25
    seen = set(zip(small.ratings["user_id"], small.ratings["item_id"], strict=True))
    assert not any((u, i) in seen for u, i in zip(top["user_id"], top["item_id"], strict=True))
    scores = fitted.score_users(np.arange(5))
    assert scores.shape == (5, fitted.index.num_items) and np.isfinite(scores).all()


@pytest.mark.slow
def test_spark_als_scores_are_inner_products_of_its_factors(fitted):
    from reclearn.retrieval import factor_vectors

    users, items = factor_vectors(fitted)
    np.testing.assert_allclose(fitted.score_users(np.arange(3)), users[:3] @ items.T, rtol=1e-4)
