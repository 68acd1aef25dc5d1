"""Item content, the TF-IDF profile recommender and its explanations."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn.configs import ContentConfig
from reclearn.content import ContentRecommender, item_content, profile_weights, token_matrix


@pytest.fixture
def toy():
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "title": ["Space War", "Space Love", "Love Story", "War Story"],
            "year": pd.array([1990, 1991, 2001, pd.NA], dtype="Int64"),
            "genres": [["Sci-Fi"], ["Sci-Fi", "Romance"], ["Romance"], []],
        }
    )
    tags = pd.DataFrame({"user_id": ["1", "2"], "item_id": ["a", "a"], "tag": ["Epic", "epic "]})
    ratings = pd.DataFrame(
        {"user_id": ["u", "u", "v"], "item_id": ["a", "c", "b"], "rating": [5.0, 1.0, 4.0]}
    )
    return item_content(items, tags), ratings


def test_item_content_collects_genres_decades_titles_and_distinct_tags(toy):
    content, _ = toy
    assert content.frame.tags.tolist() == [["epic"], [], [], []]
    assert content.num_without_tags == 3 and content.num_without_genres == 1
    assert content.documents()[0] == ["genre:sci-fi", "decade:1990s", "space", "war", "tag:epic"]
    assert content.documents(use_tags=False)[3] == ["war", "story"]


def test_token_matrix_pads_and_maps_rare_tokens_to_oov(toy):
    content, _ = toy
    tokens, vocabulary = token_matrix(content, max_tokens=4, min_count=2)
    assert vocabulary[:2] == ["<pad>", "<oov>"]
    assert tokens.shape == (4, 4)
    assert tokens[3].tolist() == [vocabulary.index("war"), vocabulary.index("story"), 0, 0]
    assert tokens[2, 1] == 1  # decade:2000s: one item only, so out of vocabulary
    assert tokens[0, 1] == vocabulary.index("decade:1990s")
    assert "tag:epic" not in vocabulary


def test_profile_weights_centre_ratings_and_fall_back_to_one():
    users = np.array([0, 0, 1])
    weights = profile_weights(users, np.array([5.0, 1.0, 4.0]), 2)
    np.testing.assert_allclose(weights, [2.0, -2.0, 1.0])


def test_the_profile_and_its_explanation_match_a_hand_computed_case(toy):
    content, ratings = toy
    model = ContentRecommender(ContentConfig(min_df=1), content=content).fit(ratings)
    x = model.features.toarray()
    u = model.index.users(["u"])[0]
    a, c, d = model.index.items(["a", "c", "d"])
    profile = (2.0 * x[a] - 2.0 * x[c]) / 4.0
    np.testing.assert_allclose(model.profiles[u].toarray().ravel(), profile)
    scores = model.predict(pd.DataFrame({"user_id": ["u"], "item_id": ["d"]}))
    np.testing.assert_allclose(scores, [profile @ x[d]])
    why = model.explain("u", "d", top=3)
    names = list(model.feature_names)
    expected = profile * x[d]
    assert why.feature.tolist() == ["war"]  # shared with the liked a, absent from c
    assert why.contribution.iloc[0] == pytest.approx(expected[names.index("war")])
    assert (why.contribution > 0).all()


def test_content_recommender_recommends_items_nobody_rated(toy):
    content, ratings = toy
    model = reclearn.build("content-tfidf", content=content, min_df=1).fit(ratings)
    top = model.recommend(["u"], k=4)
    assert set(top.item_id) == {"b", "d"}  # d nobody rated, still recommended


def test_content_models_need_content_and_known_items(toy):
    content, ratings = toy
    with pytest.raises(ValueError, match="needs item content"):
        reclearn.build("content-tfidf").fit(ratings)
    bad = ratings.assign(item_id=["a", "c", "zzz"])
    with pytest.raises(ValueError, match="without content.*zzz"):
        reclearn.build("content-tfidf", content=content).fit(bad)
