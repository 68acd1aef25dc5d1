"""The deep collaborative filtering twins: NeuralCF, GMF, MLP, NeuMF and BPR-MF.

Same starting weights in both backends, the papers' layer names, NeuMF pre-training, the
losses worked by hand, negative sampling. Copying weights between the twins is checked
for every model in tests/test_twins.py, the Recommender contract in
tests/test_recommender_contract.py.
"""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.configs import BPRConfig, GMFConfig, MLPConfig, NeuMFConfig, NeuralCFConfig
from reclearn.sampling import PositiveSets, epoch_sampler, training_positives

NAMES = ["neuralcf", "gmf", "mlp", "neumf", "bpr-mf"]
IMPLICIT = ["gmf", "mlp", "neumf", "bpr-mf"]
# tiny but complete: every tower has two layers
OPTIONS = {
    "neuralcf": {"num_factors": 4, "hidden": (6, 3)},
    "gmf": {"num_factors": 4, "l2": 1e-3},
    "mlp": {"hidden": (8, 4), "l2": 1e-3},
    "neumf": {"num_factors": 3, "hidden": (8, 4), "l2": 1e-3},
    "bpr-mf": {"num_factors": 4, "num_negatives": 2, "l2": 1e-3},
}
COMMON = {"epochs": 2, "batch_size": 256, "learning_rate": 0.01, "verbose": False}
NETWORKS = {  # registry name -> (class name in ncf.py, config, extra constructor args)
    "neuralcf": ("NeuralCF", NeuralCFConfig(**OPTIONS["neuralcf"]), (3.5,)),
    "gmf": ("GMF", GMFConfig(**OPTIONS["gmf"]), ()),
    "mlp": ("MLP", MLPConfig(**OPTIONS["mlp"]), ()),
    "neumf": ("NeuMF", NeuMFConfig(**OPTIONS["neumf"]), ()),
    "bpr-mf": ("BPRMF", BPRConfig(**OPTIONS["bpr-mf"]), ()),
}


def _backend(name):
    from reclearn.models.tf import ncf as tf_ncf
    from reclearn.models.tf import recommender as tf_recommender
    from reclearn.models.torch import ncf as torch_ncf
    from reclearn.models.torch import recommender as torch_recommender

    return {"torch": (torch_ncf, torch_recommender), "tf": (tf_ncf, tf_recommender)}[name]


def _network(backend, name, seed=0, num_users=9, num_items=7):
    ncf, _ = _backend(backend)
    class_name, config, extra = NETWORKS[name]
    rng = np.random.default_rng(seed)
    return getattr(ncf, class_name)(num_users, num_items, config, *extra, rng)


def _arrays(backend, network):
    return _backend(backend)[1].network_arrays(network)


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.mark.parametrize("name", NAMES)
def test_the_twin_networks_have_the_same_weight_names_shapes_and_start(name):
    torch_weights = _arrays("torch", _network("torch", name))
    tf_weights = _arrays("tf", _network("tf", name))
    assert list(torch_weights) == list(tf_weights)
    for key, value in torch_weights.items():
        assert value.dtype == tf_weights[key].dtype == np.float32
        np.testing.assert_array_equal(tf_weights[key], value)
    other = _arrays("torch", _network("torch", name, seed=1))
    first = next(iter(torch_weights))
    assert not np.array_equal(other[first], torch_weights[first])
    biases = [key for key in torch_weights if key.endswith("bias") or "bias." in key]
    assert biases and all(not torch_weights[key].any() for key in biases)  # they start at zero


def test_the_weight_names_follow_the_papers_layers():
    names = {name: list(_arrays("torch", _network("torch", name))) for name in NAMES}
    assert names["neumf"] == [
        "gmf_user_embedding.embeddings",
        "gmf_item_embedding.embeddings",
        "mlp_user_embedding.embeddings",
        "mlp_item_embedding.embeddings",
        "hidden_0.kernel",
        "hidden_0.bias",
        "hidden_1.kernel",
        "hidden_1.bias",
        "prediction.kernel",
        "prediction.bias",
    ]
    assert names["bpr-mf"] == [
        "user_embedding.embeddings",
        "item_embedding.embeddings",
        "item_bias.embeddings",
    ]
    weights = _arrays("torch", _network("torch", "mlp"))
    assert weights["user_embedding.embeddings"].shape == (9, 4)  # hidden[0] // 2
    assert weights["hidden_0.kernel"].shape == (8, 8)  # (in, out)
    assert weights["prediction.kernel"].shape == (4, 1)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_neumf_pretraining_loads_gmf_and_mlp_and_weights_the_output_layer(backend):
    gmf = _arrays(backend, gmf_net := _network(backend, "gmf", seed=1))
    mlp = _arrays(backend, mlp_net := _network(backend, "mlp", seed=2))
    ncf, _ = _backend(backend)  # a NeuMF with the GMF's 4 factors and the MLP's tower
    config = NeuMFConfig(num_factors=4, hidden=(8, 4))
    neumf_net = ncf.NeuMF(9, 7, config, np.random.default_rng(0))
    neumf_net.load_pretrained(gmf_net, mlp_net, 0.3)
    neumf = _arrays(backend, neumf_net)
    for part, source in (("gmf", gmf), ("mlp", mlp)):
        for side in ("user", "item"):
            key = f"{side}_embedding.embeddings"
            np.testing.assert_array_equal(neumf[f"{part}_{key}"], source[key])
    for key in ("hidden_0.kernel", "hidden_0.bias", "hidden_1.kernel", "hidden_1.bias"):
        np.testing.assert_array_equal(neumf[key], mlp[key])
    expected = np.concatenate([0.3 * gmf["prediction.kernel"], 0.7 * mlp["prediction.kernel"]])
    np.testing.assert_allclose(neumf["prediction.kernel"], expected, rtol=1e-6)
    np.testing.assert_allclose(
        neumf["prediction.bias"],
        0.3 * gmf["prediction.bias"] + 0.7 * mlp["prediction.bias"],
        rtol=1e-6,
    )


def test_neumf_with_pretraining_trains_a_gmf_and_an_mlp_with_its_settings(frames):
    options = {**OPTIONS["neumf"], **COMMON, "epochs": 1}
    model = reclearn.build("neumf", "torch", pretrain=True, alpha=0.5, **options).fit(frames[0])
    assert set(model.pretrain_history) == {"gmf", "mlp"}
    gmf = reclearn.build("gmf", "torch", num_factors=3, l2=1e-3, **{**COMMON, "epochs": 1})
    gmf.fit(frames[0])
    assert model.pretrain_history["gmf"] == gmf.history
    mlp = reclearn.build("mlp", "torch", hidden=(8, 4), l2=1e-3, **{**COMMON, "epochs": 1})
    assert model.pretrain_history["mlp"] == mlp.fit(frames[0]).history
    assert model.history[0]["loss"] < gmf.history[0]["loss"]  # it starts from trained parts


def test_neumf_pretrain_epochs_sets_the_towers_epochs_apart_from_its_own(frames):
    options = {**OPTIONS["neumf"], **COMMON, "epochs": 1}
    model = reclearn.build("neumf", "torch", pretrain=True, pretrain_epochs=3, **options)
    model.fit(frames[0])
    assert [len(model.pretrain_history[part]) for part in ("gmf", "mlp")] == [3, 3]
    assert len(model.history) == 1


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_the_bpr_objective_matches_a_hand_computation(backend):
    network = _network(backend, "bpr-mf")
    weights = _arrays(backend, network)
    weights["item_bias.embeddings"] = np.arange(7, dtype=np.float32)[:, None] / 10
    _backend(backend)[1].set_network_arrays(network, weights)
    p = weights["user_embedding.embeddings"][2]
    q = weights["item_embedding.embeddings"]
    b = weights["item_bias.embeddings"][:, 0]
    x_ui, x_uj = p @ q[5] + b[5], p @ q[1] + b[1]
    penalty = p @ p + q[5] @ q[5] + b[5] ** 2 + q[1] @ q[1] + b[1] ** 2
    expected = -np.log(1 / (1 + np.exp(-(x_ui - x_uj)))) + 1e-3 * penalty
    loss = network.objective(*_tensors(backend, [2], [5], [[1]]))
    assert _float(loss) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_the_log_loss_matches_a_hand_computation(backend):
    network = _network(backend, "gmf")
    weights = _arrays(backend, network)
    p, q = weights["user_embedding.embeddings"], weights["item_embedding.embeddings"]
    h, b = weights["prediction.kernel"][:, 0], weights["prediction.bias"][0]
    logits = np.array([h @ (p[0] * q[3]) + b, h @ (p[4] * q[6]) + b])
    labels = np.array([1.0, 0.0])
    bce = -np.mean(
        labels * np.log(1 / (1 + np.exp(-logits)))
        + (1 - labels) * np.log(1 - 1 / (1 + np.exp(-logits)))
    )
    penalty = np.mean([p[0] @ p[0] + q[3] @ q[3], p[4] @ p[4] + q[6] @ q[6]])
    loss = network.objective(*_tensors(backend, [0, 4], [3, 6], labels.astype(np.float32)))
    assert _float(loss) == pytest.approx(bce + 1e-3 * penalty, rel=1e-6)


def _float(loss) -> float:
    return float(loss.detach() if hasattr(loss, "detach") else loss)


def _tensors(backend, *arrays):
    if backend == "torch":
        import torch

        return [torch.as_tensor(np.asarray(a)) for a in arrays]
    import tensorflow as tf

    return [tf.constant(np.asarray(a)) for a in arrays]


@pytest.mark.parametrize("name", IMPLICIT)
def test_unknown_users_get_the_most_popular_items(frames, name):
    options = {**OPTIONS[name], **COMMON, "epochs": 1}
    model = reclearn.build(name, "torch", **options).fit(frames[0])
    assert not model.clip_predictions  # logits, not ratings
    mu, b_u, b_i = model.fallback_biases()
    assert mu == 0.0 and not b_u.any()
    counts = frames[0].item_id.astype(str).value_counts()
    items = model.index.items(counts.index)
    np.testing.assert_allclose(b_i[items], np.log1p(counts.to_numpy()))


def test_build_knows_every_deep_cf_model():
    assert set(NAMES) <= set(reclearn.available_models())
    model = reclearn.build("neumf", "tf", hidden=[16, 8], alpha=0.25, pretrain=True)
    assert model.config.hidden == (16, 8) and model.config.alpha == 0.25
    assert type(model).__name__ == "NeuMFRecommender"
    assert type(reclearn.build("bpr-mf")).__name__ == "BPRRecommender"


@pytest.mark.parametrize(
    ("config_class", "options", "message"),
    [
        (NeuralCFConfig, {"hidden": ()}, "hidden must be a non-empty tuple"),
        (NeuralCFConfig, {"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        (MLPConfig, {"hidden": (1, 4)}, r"hidden\[0\] must be at least 2"),
        (GMFConfig, {"num_negatives": 0}, "num_negatives .* at least 1, got 0"),
        (GMFConfig, {"replace": "yes"}, "replace must be True or False"),
        (NeuMFConfig, {"alpha": 1.5}, r"alpha must be in \[0, 1\]"),
        (BPRConfig, {"validation_fraction": 0.1}, "implicit models watch NDCG@10 on a"),
        (BPRConfig, {"l2": -1}, "l2 must be non-negative"),
    ],
)
def test_bad_configs_get_clear_errors(config_class, options, message):
    with pytest.raises(ValueError, match=message):
        config_class(**options)


def test_a_threshold_keeps_only_high_ratings_as_positives(frames):
    train = frames[0]
    users, items = pd.factorize(train.user_id)[0], pd.factorize(train.item_id)[0]
    ratings = train.rating.to_numpy(np.float32)
    positives = training_positives(users, items, ratings, 60, 50, threshold=4.0)
    assert positives.counts().sum() == (ratings >= 4.0).sum()
    assert training_positives(users, items, ratings, 60, 50).counts().sum() == len(train)
    with pytest.raises(ValueError, match="no training rating reaches the threshold 9"):
        training_positives(users, items, ratings, 60, 50, threshold=9)


@pytest.mark.parametrize("replace", [True, False])
def test_negatives_are_redrawn_each_epoch_seeded_and_never_positives(replace):
    positives = PositiveSets([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 3, 4], 3, 8)
    draw = epoch_sampler(positives, 3, replace=replace, seed=0)
    first, second = draw(0), draw(1)
    assert first["labels"].tolist() == [1] * 6 + [0] * 18
    np.testing.assert_array_equal(first["users"][6:], np.repeat([0, 0, 1, 2, 2, 2], 3))
    assert not np.array_equal(first["items"], second["items"])
    assert not positives.contains(first["users"][6:], first["items"][6:]).any()
    again = epoch_sampler(positives, 3, replace=replace, seed=0)(0)
    np.testing.assert_array_equal(again["items"], first["items"])
    pairs = epoch_sampler(positives, 3, replace=replace, seed=0, pairwise=True)(0)
    assert pairs["negatives"].shape == (6, 3)
    if not replace:
        assert all(len(set(row)) == 3 for row in pairs["negatives"])
