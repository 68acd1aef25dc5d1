"""Factorization machines and DeepFM: the O(kd) identity, the twins, the feature tables.

The Recommender contract covers the four models without content
(tests/test_recommender_contract.py); copying weights between twins is checked for every
deep model in tests/test_twins.py. Here: the FM identity against the naive pairwise sum,
scoring all items against scoring pairs, and features that use training data only.
"""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.configs import DeepFMConfig, FMConfig
from reclearn.content import item_content
from reclearn.features import activity_bucket, feature_tables, year_bucket

COMMON = {"epochs": 2, "batch_size": 256, "verbose": False}
SIZES = {"fm": {"num_factors": 4}, "deepfm": {"num_factors": 4, "hidden": (8, 4)}}
SIZES |= {f"{name}-rank": options for name, options in SIZES.items()}


def _fm(backend):
    if backend == "torch":
        from reclearn.models.torch import fm
    else:
        from reclearn.models.tf import fm
    return fm


def _tables(content):
    users = np.repeat(np.arange(6), [1, 9, 10, 25, 60, 200])
    warm = np.arange(len(content.frame)) % 5 != 0
    return feature_tables(users, 6, warm, content)


def _numpy(tensor):
    return tensor.detach().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_the_fm_identity_equals_the_naive_pairwise_sum(backend):
    rng = np.random.default_rng(0)
    vx = rng.normal(size=(5, 7, 3)).astype(np.float32)  # (batch, m, k)
    naive = np.zeros(5)
    for j in range(7):
        for m in range(j + 1, 7):
            naive += (vx[:, j] * vx[:, m]).sum(axis=-1)  # O(k m^2)
    if backend == "torch":
        import torch

        fast = _fm("torch").pairwise_interactions(torch.as_tensor(vx))
    else:
        fast = _fm("tf").pairwise_interactions(vx)
    np.testing.assert_allclose(_numpy(fast), naive, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_the_fm_network_is_w0_plus_linear_plus_every_pair_of_features(backend, small_content):
    tables = _tables(small_content)
    network = _fm(backend).FM(tables, FMConfig(num_factors=3), 3.5, np.random.default_rng(0))
    weights = _arrays(backend, network)
    v, w = weights["factors.embeddings"], weights["linear.embeddings"][:, 0]
    w = w + np.random.default_rng(1).normal(size=w.shape).astype(np.float32)
    _set(backend, network, {"factors.embeddings": v, "linear.embeddings": w[:, None]})
    users, items = np.array([0, 3, 5, 5]), np.array([0, 1, 7, 49])
    expected = []
    for u, i in zip(users, items, strict=True):
        index = np.concatenate([tables.user_index[u], tables.item_index[i]])
        x = np.concatenate([tables.user_value[u], tables.item_value[i]])
        y = 3.5 + (w[index] * x).sum()
        for a in range(len(index)):
            for b in range(a + 1, len(index)):
                y += v[index[a]] @ v[index[b]] * x[a] * x[b]
        expected.append(y)
    np.testing.assert_allclose(_forward(backend, network, users, items), expected, rtol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "tf"])
@pytest.mark.parametrize("network", ["FM", "DeepFM"])
def test_scoring_every_item_at_once_equals_scoring_each_pair(backend, network, small_content):
    tables = _tables(small_content)
    config = DeepFMConfig(num_factors=3, hidden=(5, 4))
    net = getattr(_fm(backend), network)(tables, config, 3.5, np.random.default_rng(0))
    num_items = len(tables.item_index)
    users = np.array([0, 4])
    every = _numpy(_score_all(backend, net, users))
    pairs = _forward(backend, net, np.repeat(users, num_items), np.tile(np.arange(num_items), 2))
    np.testing.assert_allclose(every.ravel(), pairs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("network", ["FM", "DeepFM"])
def test_the_twin_networks_start_equal_and_agree(network, small_content):
    tables = _tables(small_content)
    config = DeepFMConfig(num_factors=3, hidden=(5, 4))
    nets = {
        b: getattr(_fm(b), network)(tables, config, 3.5, np.random.default_rng(0))
        for b in ("torch", "tf")
    }
    torch_weights, tf_weights = (_arrays(b, nets[b]) for b in ("torch", "tf"))
    assert list(torch_weights) == list(tf_weights)
    for name, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[name], value)
    users, items = np.array([0, 1, 5]), np.array([2, 0, 9])
    np.testing.assert_allclose(
        _forward("torch", nets["torch"], users, items),
        _forward("tf", nets["tf"], users, items),
        rtol=1e-5,
    )


def test_the_feature_tables_name_every_field(small_content):
    tables = _tables(small_content)
    assert tables.fields == ["user", "activity", "item", "genre", "year"]
    assert tables.user_field.tolist() == [0, 1]
    assert tables.item_field.tolist() == [2, 3, 3, 4]
    genres = [n for n in tables.names if n.startswith("genre:")]
    assert genres == sorted(genres) and len(genres) == 6
    # each item's genres weigh 1/2 each; items without training ratings lose their id
    np.testing.assert_array_equal(tables.item_value[:, 1:3], 0.5)
    assert tables.item_value[0, 0] == 0 and tables.item_value[1, 0] == 1
    activity = [tables.names[j] for j in tables.user_index[:, 1]]
    assert activity == ["activity:1+", "activity:1+", "activity:10+", "activity:20+"] + [
        "activity:50+",
        "activity:200+",
    ]
    assert tables.num_features == max(tables.item_index.max(), tables.user_index.max()) + 1


def test_buckets_of_activity_and_release_year():
    assert activity_bucket([0, 1, 9, 10, 999, 1000, 5000]).tolist() == [-1, 0, 0, 1, 6, 7, 7]
    years = pd.array([1931, 1950, 1999, None, 2018], dtype="Int64")
    assert year_bucket(years) == [
        "year:<1950",
        "year:1950s",
        "year:1990s",
        "year:unknown",
        "year:2010s",
    ]


def test_post_release_content_is_refused(small):
    tags = pd.DataFrame({"user_id": ["u0"], "item_id": [small.items.item_id[0]], "tag": ["x"]})
    content = item_content(small.items, tags, signals="post-release")
    with pytest.raises(ValueError, match="release-time content only"):
        feature_tables(np.zeros(3, dtype=int), 2, np.ones(len(small.items), bool), content)


@pytest.mark.parametrize("name", ["fm", "deepfm-rank"])
def test_test_rows_change_nothing_the_model_reads(name, frames, small_content):
    train, test = frames
    model = reclearn.build(name, content=small_content, **COMMON, **SIZES[name]).fit(train)
    counts = train.groupby("user_id", observed=True).size()
    users = model.index.users(counts.index.astype(str))
    expected = activity_bucket(counts.to_numpy())
    actual = model.tables.user_index[users, 1] - model.tables.names.index("activity:1+")
    np.testing.assert_array_equal(actual, expected)
    # more test rows, or other test ratings, leave the training features and scores alone
    again = reclearn.build(name, content=small_content, **COMMON, **SIZES[name])
    again.fit(train, validation=None)
    np.testing.assert_array_equal(again.tables.user_index, model.tables.user_index)
    np.testing.assert_array_equal(again.predict(test), model.predict(test))


@pytest.mark.parametrize("name", ["fm", "deepfm", "fm-rank", "deepfm-rank"])
def test_with_content_every_item_is_scored_and_cold_items_from_features(
    name, frames, small_content
):
    train = frames[0]
    cold = train.item_id.astype(str).isin(["i0", "i1"])
    model = reclearn.build(name, content=small_content, **COMMON, **SIZES[name])
    model.fit(train[~cold])
    assert model.item_known.all()
    cold_items = model.index.items(["i0", "i1"])
    assert not model.tables.item_value[cold_items, 0].any()  # no id feature
    predictions = model.predict(train[cold])
    assert predictions.num_fallback == 0 and np.isfinite(predictions).all()


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_a_saved_model_with_content_predicts_the_same(backend, frames, small_content, tmp_path):
    train, test = frames
    options = {**COMMON, **SIZES["deepfm"]}
    model = reclearn.build("deepfm", backend, content=small_content, **options).fit(train)
    model.save(tmp_path / "deepfm.npz")
    loaded = type(model).load(tmp_path / "deepfm.npz")
    np.testing.assert_allclose(loaded.predict(test), model.predict(test), rtol=1e-6)


def _arrays(backend, network):
    if backend == "torch":
        from reclearn.models.torch.recommender import network_arrays
    else:
        from reclearn.models.tf.recommender import network_arrays
    return network_arrays(network)


def _set(backend, network, arrays):
    if backend == "torch":
        from reclearn.models.torch.recommender import set_network_arrays
    else:
        from reclearn.models.tf.recommender import set_network_arrays
    set_network_arrays(network, arrays)


def _forward(backend, network, users, items):
    if backend == "torch":
        import torch

        return _numpy(network(torch.as_tensor(users), torch.as_tensor(items)))
    import tensorflow as tf

    return _numpy(network(tf.constant(users), tf.constant(items)))


def _score_all(backend, network, users):
    if backend == "torch":
        import torch

        return network.score_all(torch.as_tensor(users))
    import tensorflow as tf

    return network.score_all(tf.constant(users))
