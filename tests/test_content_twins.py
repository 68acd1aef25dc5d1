"""The content models: their twin networks start equal, they score cold items, the
hybrid ignores ID embeddings of unrated items. Copying weights between the fitted twins
is checked for every model in tests/test_twins.py."""

import numpy as np
import pytest

import reclearn
from reclearn import split
from reclearn.cold_start import evaluate_cold_start
from reclearn.configs import ContentBagConfig, ContentCNNConfig, HybridConfig
from reclearn.content import item_content

OPTIONS = {
    "epochs": 1,
    "batch_size": 256,
    "num_factors": 4,
    "token_dim": 4,
    "num_filters": 5,
    "max_tokens": 6,
    "min_count": 1,
    "verbose": False,
}


@pytest.fixture(scope="module")
def data(movielens):
    ratings = movielens.ratings[movielens.ratings.user_id.cat.codes < 30]
    train, test = split.cold_item_split(ratings, 0.2, seed=0)
    return item_content(movielens.items), train, test


CONFIGS = [ContentCNNConfig, ContentBagConfig, HybridConfig]


def _two_towers(config_class, seed=0):
    """The torch and tf TwoTower networks for 9 users and 7 items, and their weights."""
    from reclearn.models.tf import content as tf_content
    from reclearn.models.tf import recommender as tf_recommender
    from reclearn.models.torch import content as torch_content
    from reclearn.models.torch import recommender as torch_recommender

    config = config_class(**{k: v for k, v in OPTIONS.items() if k != "verbose"})
    tokens = np.random.default_rng(5).integers(0, 10, size=(7, 6))
    has_id = np.array([1, 1, 0, 1, 0, 1, 1], dtype=np.float32)
    weights = []
    backends = [(torch_content, torch_recommender), (tf_content, tf_recommender)]
    for content, recommender in backends:
        rng = np.random.default_rng(seed)
        network = content.TwoTower(9, tokens, has_id, 10, config, rng)
        weights.append(recommender.network_arrays(network))
    return weights


@pytest.mark.parametrize("config_class", CONFIGS)
def test_the_content_twin_networks_start_from_identical_weights(config_class):
    torch_weights, tf_weights = _two_towers(config_class)
    assert sorted(torch_weights) == sorted(tf_weights)
    for key, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[key], value, err_msg=key)
    assert "encoder.token_embedding.embeddings" in torch_weights
    has_ids = "item_embedding.embeddings" in torch_weights
    assert has_ids == (config_class is HybridConfig)
    if config_class is ContentCNNConfig:
        kernel = torch_weights["encoder.conv.kernel"]
        assert kernel.shape == (3, 4, 5)  # (width, in, out)
    other = _two_towers(config_class, seed=1)[0]["user_embedding.embeddings"]
    assert not np.array_equal(other, torch_weights["user_embedding.embeddings"])


def test_content_models_score_cold_items_and_mf_cannot(data):
    content, train, test = data
    cold = test.item_id.astype(str).unique()
    hybrid = reclearn.build("hybrid", content=content, **OPTIONS).fit(train)
    scores = hybrid.predict(test)
    assert scores.num_fallback == 0 and np.isfinite(scores).all()
    top = hybrid.recommend([str(test.user_id.iloc[0])], k=2000)
    assert set(top.item_id) & set(cold)  # cold items can be recommended
    mf = reclearn.build("mf", epochs=1, verbose=False).fit(train)
    assert mf.predict(test).num_fallback == len(test)
    everything = mf.recommend([str(test.user_id.iloc[0])], k=5000)
    assert not set(everything.item_id) & set(cold)
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
