"""Item content, the TF-IDF profile recommender and its explanations."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn.configs import ContentConfig
from reclearn.content import (
    RELEASE_FIELDS,
    ContentRecommender,
    TaggerCountRecommender,
    item_content,
    profile_weights,
    token_matrix,
)


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
    return item_content(items, tags, signals="post-release"), ratings


def test_item_content_collects_genres_decades_titles_and_distinct_tags(toy):
    content, _ = toy
    assert content.signals == "post-release"
    assert content.frame.tags.tolist() == [["epic"], [], [], []]
    assert content.num_without_tags == 3 and content.num_without_genres == 1
    assert content.documents()[0] == ["genre:sci-fi", "decade:1990s", "space", "war", "tag:epic"]
    assert content.documents(use_tags=False)[3] == ["war", "story"]


def test_release_time_content_is_the_default_and_has_no_tag_derived_field(toy):
    content, _ = toy
    release = item_content(content.frame)
    assert release.signals == "release"
    assert tuple(release.frame.columns) == RELEASE_FIELDS
    assert not any("tag" in token for doc in release.documents() for token in doc)
    assert release.documents()[0] == ["genre:sci-fi", "decade:1990s", "space", "war"]
    assert release.align(["b", "a"]).signals == "release"
    with pytest.raises(ValueError, match="post-release content"):
        _ = release.num_without_tags


def test_item_content_refuses_tags_for_release_time_and_checks_signals(toy):
    content, _ = toy
    tags = pd.DataFrame({"user_id": ["1"], "item_id": ["a"], "tag": ["epic"]})
    with pytest.raises(ValueError, match="signals='post-release'"):
        item_content(content.frame, tags)
    with pytest.raises(ValueError, match="needs the tags frame"):
        item_content(content.frame, signals="post-release")
    with pytest.raises(ValueError, match="signals must be"):
        item_content(content.frame, tags, signals="tags")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['user_id'\]"):
        item_content(content.frame, tags.drop(columns="user_id"), signals="post-release")


def test_post_release_content_counts_distinct_taggers():
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "title": ["A", "B", "C"], "year": [2000] * 3}
    ).assign(genres=[[], [], []])
    tags = pd.DataFrame(
        {
            "user_id": ["1", "1", "2", "3", "3"],
            "item_id": ["a", "a", "a", "b", "b"],
            "tag": ["x", "y", "x", "z", "w"],
        }
    )
    content = item_content(items, tags, signals="post-release")
    assert content.frame.taggers.tolist() == [2, 1, 0]
    assert content.frame.tags.tolist() == [["x", "y"], ["w", "z"], []]


def test_the_tag_count_control_ranks_items_by_distinct_taggers_for_every_user():
    items = pd.DataFrame(
        {"item_id": list("abcd"), "title": list("ABCD"), "year": [2000] * 4}
    ).assign(genres=[[]] * 4)
    # a: 1 tagger who tags twice; b: 3 taggers; c: 2 taggers; d: none
    tags = pd.DataFrame(
        {
            "user_id": ["1", "1", "1", "2", "3", "1", "2"],
            "item_id": ["a", "a", "b", "b", "b", "c", "c"],
            "tag": ["x", "y", "x", "x", "x", "x", "x"],
        }
    )
    content = item_content(items, tags, signals="post-release")
    ratings = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["d", "d"], "rating": [4.0, 2.0]})
    model = TaggerCountRecommender(content=content).fit(ratings)
    top = model.recommend(["u", "v", "new user"], k=3)
    assert top.groupby("user_id", sort=False).item_id.agg(list).tolist() == [["b", "c", "a"]] * 3
    np.testing.assert_array_equal(model.score_users(model.index.users(["u"]))[0], [1, 3, 2, 0])
    release = item_content(items)
    with pytest.raises(ValueError, match="needs post-release content"):
        TaggerCountRecommender(content=release).fit(ratings)
    with pytest.raises(ValueError, match="needs item content"):
        TaggerCountRecommender().fit(ratings)


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
