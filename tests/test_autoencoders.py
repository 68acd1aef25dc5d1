"""The autoencoder twins: AutoRec's masked loss, Mult-VAE's KL term and beta schedule,
the multinomial loss and fold-in. Copying weights between the twins is checked for every
model in tests/test_twins.py, the Recommender contract in
tests/test_recommender_contract.py.
"""

import math

import numpy as np
import pytest

import reclearn
from reclearn import split
from reclearn.configs import AutoRecConfig, MultDAEConfig, MultVAEConfig
from reclearn.models.recommender import kl_weight

BACKENDS = ("torch", "tf")


def _module(backend):
    if backend == "torch":
        from reclearn.models.torch import autoencoder
    else:
        from reclearn.models.tf import autoencoder
    return autoencoder


def _tensor(backend, array):
    if backend == "torch":
        import torch

        return torch.as_tensor(array)
    import tensorflow as tf

    return tf.constant(array)


def _numpy(value) -> np.ndarray:
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def _autorec(backend, l2=0.0):
    """A tiny AutoRec (4 users, 3 items) whose tables hold two observed ratings."""
    autoencoder = _module(backend)
    config = AutoRecConfig(num_hidden=5, l2=l2)
    network = autoencoder.AutoRec(4, 3, config, 3.0, np.random.default_rng(0))
    ratings = np.zeros((3, 4), np.float32)
    ratings[0, 1], ratings[2, 3] = 4.0, 2.5
    observed = (ratings > 0).astype(np.float32)
    if backend == "torch":
        network.ratings.weight.data.copy_(_tensor(backend, ratings))
        network.observed.weight.data.copy_(_tensor(backend, observed))
    else:
        network.ratings.embeddings.assign(ratings)
        network.observed.embeddings.assign(observed)
    return network, ratings, observed


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_autorec_loss_counts_observed_ratings_only(backend):
    network, ratings, observed = _autorec(backend)
    items = _tensor(backend, np.arange(3))
    reconstruction = _numpy(network.reconstruct(items))
    loss = float(_numpy(network.objective(items)))
    masked = ((reconstruction - ratings) ** 2 * observed).sum() / observed.sum()
    assert loss == pytest.approx(masked, rel=1e-5)
    everything = ((reconstruction - ratings) ** 2).mean()
    assert not np.isclose(loss, everything)  # the zeros of unobserved entries are no targets


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_autorec_penalty_is_l2_times_the_squared_kernels(backend):
    plain, _, _ = _autorec(backend)
    penalised, _, _ = _autorec(backend, l2=0.1)
    items = _tensor(backend, np.arange(3))
    kernels = [value for key, value in _weights(backend, plain).items() if "kernel" in key]
    expected = 0.1 * sum((kernel**2).sum() for kernel in kernels)
    difference = _numpy(penalised.objective(items)) - _numpy(plain.objective(items))
    assert float(difference) == pytest.approx(expected, rel=1e-5)


def _weights(backend, network):
    from importlib import import_module

    module = import_module(f"reclearn.models.{backend}.recommender")
    return module.network_arrays(network)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_autorec_prediction_is_an_entry_of_the_items_reconstruction(backend):
    network, _, _ = _autorec(backend)
    users, items = np.array([1, 3, 0, 1]), np.array([0, 2, 2, 1])
    predicted = _numpy(network(_tensor(backend, users), _tensor(backend, items)))
    reconstruction = _numpy(network.reconstruct(_tensor(backend, np.arange(3))))
    np.testing.assert_allclose(predicted, reconstruction[items, users], rtol=1e-6)
    scores = _numpy(network.score_all(_tensor(backend, users)))
    np.testing.assert_allclose(scores, reconstruction[:, users].T, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_kl_term_is_the_closed_form_of_the_docstring(backend):
    kl_divergence = _module(backend).kl_divergence
    mu = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    log_var = np.array([[0.0, math.log(2.0)], [0.0, 0.0]], np.float32)
    value = float(_numpy(kl_divergence(_tensor(backend, mu), _tensor(backend, log_var))))
    # row 1: 1/2 (1 + 1 - 1 - 0) + 1/2 (2 + 0 - 1 - log 2); row 2 is N(0, I): zero
    assert value == pytest.approx((1.0 - 0.5 * math.log(2.0)) / 2, rel=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_multinomial_loss_is_minus_the_clicked_items_log_softmax(backend):
    multinomial_loss = _module(backend).multinomial_loss
    logits = np.array([[0.0, math.log(3.0), 0.0]], np.float32)  # softmax 1/5, 3/5, 1/5
    clicks = np.array([[0.0, 1.0, 1.0]], np.float32)
    value = float(_numpy(multinomial_loss(_tensor(backend, logits), _tensor(backend, clicks))))
    assert value == pytest.approx(-math.log(3 / 5) - math.log(1 / 5), rel=1e-6)


def test_beta_rises_with_the_updates_done_and_stops_at_beta_max():
    config = MultVAEConfig(beta_max=0.2, total_anneal_steps=100)
    betas = [kl_weight(epoch, 10, config) for epoch in range(4)]
    assert betas == pytest.approx([0.0, 0.1, 0.2, 0.2])
    assert kl_weight(3, 10, MultVAEConfig(beta_max=1.0, total_anneal_steps=100)) == 0.3


def test_the_vae_trains_each_epoch_with_its_beta():
    model = reclearn.build("mult-vae", "torch", batch_size=100, total_anneal_steps=10)
    arrays = model._epoch_arrays(250)  # 3 updates per epoch
    assert arrays(0)["beta"].tolist() == [0.0] * 250
    assert arrays(1)["beta"][0] == pytest.approx(0.2)  # 0.3, capped at beta_max
    assert arrays(1)["users"].tolist() == list(range(250))


def test_the_configs_refuse_bad_values():
    with pytest.raises(ValueError, match="hidden"):
        MultDAEConfig(hidden=())
    with pytest.raises(ValueError, match="validation_fraction"):
        MultVAEConfig(validation_fraction=0.1)
    with pytest.raises(ValueError, match="beta_max"):
        MultVAEConfig(beta_max=-1.0)
    with pytest.raises(ValueError, match="num_hidden"):
        AutoRecConfig(num_hidden=0)


@pytest.mark.parametrize("name", ["mult-dae", "mult-vae"])
def test_folding_in_a_training_user_gives_the_users_own_scores(small, name):
    train, _ = split.random_split(small.ratings, test_fraction=0.2, seed=0)
    options = {"hidden": (8, 4), "epochs": 2, "batch_size": 64, "verbose": False}
    model = reclearn.build(name, "torch", **options).fit(train)
    users = ["u1", "u17"]
    user_ids, scores = model.score_histories(train[train.user_id.isin(users)])
    assert sorted(user_ids) == users
    own = model.score_users(model.index.users(list(user_ids)))
    np.testing.assert_allclose(scores, own, rtol=1e-5, atol=1e-6)
