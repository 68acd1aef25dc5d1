"""The content networks' twins: same names and shapes, same outputs given the same weights."""

import numpy as np
import pytest

import reclearn
from reclearn import split
from reclearn.cold_start import evaluate_cold_start
from reclearn.content import item_content

OPTIONS = {"epochs": 1, "batch_size": 256, "num_factors": 4, "token_dim": 4, "num_filters": 5,
           "max_tokens": 6, "min_count": 1, "verbose": False}  # fmt: skip


@pytest.fixture(scope="module")
def data(movielens):
    ratings = movielens.ratings[movielens.ratings.user_id.cat.codes < 30]
    train, test = split.cold_item_split(ratings, 0.2, seed=0)
    return item_content(movielens.items, movielens.tags), train, test


@pytest.fixture(scope="module", params=["content-cnn", "content-bag", "hybrid"])
def twins(request, data):
    content, train, _ = data
    return tuple(
        reclearn.build(request.param, backend, content=content, **OPTIONS).fit(train)
        for backend in ("torch", "tf")
    )


def test_the_content_twins_have_the_same_weight_names_and_shapes(twins):
    torch_weights, tf_weights = (m.get_weights() for m in twins)
    assert sorted(torch_weights) == sorted(tf_weights)
    assert {k: v.shape for k, v in torch_weights.items()} == {
        k: v.shape for k, v in tf_weights.items()
    }
    assert "encoder.token_embedding.embeddings" in torch_weights
    if twins[0].config.encoder == "cnn":
        assert torch_weights["encoder.conv.kernel"].shape == (3, 4, 5)  # (width, in, out)


def test_the_content_twins_agree_given_the_same_weights(twins, data):
    torch_model, tf_model = twins
    _, _, test = data
    tf_model.set_weights(torch_model.get_weights())
    np.testing.assert_allclose(tf_model.predict(test), torch_model.predict(test), atol=1e-5)
    users = np.arange(5)
    np.testing.assert_allclose(tf_model._score_users(users), torch_model._score_users(users),
                               atol=1e-5)  # fmt: skip


def test_one_epoch_from_the_same_seed_gives_nearly_the_same_weights(twins):
    torch_weights, tf_weights = (m.get_weights() for m in twins)
    for name in torch_weights:
        np.testing.assert_allclose(tf_weights[name], torch_weights[name], atol=1e-3, err_msg=name)


def test_content_models_score_cold_items_and_mf_cannot(data):
    content, train, test = data
    cold = test.item_id.astype(str).unique()
    hybrid = reclearn.build("hybrid", content=content, **OPTIONS).fit(train)
    assert hybrid.fit(train) is hybrid
    scores = hybrid.predict(test)
    assert scores.num_fallback == 0 and np.isfinite(scores).all()
    top = hybrid.recommend([str(test.user_id.iloc[0])], k=2000)
    assert set(top.item_id) & set(cold)  # cold items can be recommended
    seen = set(train[train.user_id == test.user_id.iloc[0]].item_id.astype(str))
    assert not seen & set(top.item_id)
    mf = reclearn.build("mf", epochs=1, verbose=False).fit(train)
    assert mf.predict(test).num_fallback == len(test)
    assert not set(mf.recommend([str(test.user_id.iloc[0])], k=5000).item_id) & set(cold)
    result = evaluate_cold_start(mf, train, test, candidates=cold)
    assert result.summary["ndcg@10"] == 0.0  # all cold items tie: pessimistic ranks


def test_the_id_embedding_of_an_item_without_training_ratings_is_not_used(data):
    content, train, test = data
    model = reclearn.build("hybrid", content=content, **OPTIONS).fit(train)
    cold = model.index.items(test.item_id.astype(str).unique()[:3])
    before = model.predict(test)
    weights = model.get_weights()
    weights["item_embedding.embeddings"][cold] += 100.0
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(test), before, atol=1e-6)


def test_two_tower_config_rejects_bad_values():
    with pytest.raises(ValueError, match="encoder"):
        reclearn.build("content-cnn", encoder="rnn")
    with pytest.raises(ValueError, match="kernel_size"):
        reclearn.build("content-cnn", kernel_size=4)
