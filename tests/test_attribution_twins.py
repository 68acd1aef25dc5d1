"""Token attributions of the content model: the twins agree, integrated gradients are
complete, and the recomputed logits are the network's own. That the twin files define
the same functions and docstrings is checked in tests/test_twins.py."""

import numpy as np
import pytest

import reclearn
from reclearn import split
from reclearn.content import item_content
from reclearn.models.tf import attribution as tf_attribution
from reclearn.models.torch import attribution as torch_attribution

BACKENDS = {"torch": torch_attribution, "tf": tf_attribution}
OPTIONS = {"epochs": 2, "batch_size": 256, "num_factors": 4, "token_dim": 4}
OPTIONS |= {"num_filters": 5, "max_tokens": 6, "min_count": 1, "verbose": False}


@pytest.fixture(scope="module")
def data(movielens):
    ratings = movielens.ratings[movielens.ratings.user_id.cat.codes < 30]
    train, _ = split.per_user_split(ratings, 0.2, seed=0)
    return item_content(movielens.items), train


@pytest.fixture(scope="module", params=["content-cnn", "content-bag", "hybrid"])
def twins(request, data):
    """The torch model and its TensorFlow twin holding the same (copied) weights."""
    content, train = data
    torch_model, tf_model = (
        reclearn.build(request.param, backend, content=content, **OPTIONS).fit(train)
        for backend in ("torch", "tf")
    )
    tf_model.set_weights(torch_model.get_weights())
    return {"torch": torch_model, "tf": tf_model}


def _pairs(model):
    """25 random (user, item) index pairs; the users have training ratings."""
    rng = np.random.default_rng(0)
    users = rng.choice(np.flatnonzero(model.user_known), 25)
    items = rng.integers(0, model.index.num_items, 25)
    return users, items


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_token_logits_equal_the_networks_own_scores(twins, backend):
    model = twins[backend]
    users, items = _pairs(model)
    logits = BACKENDS[backend].token_logits(model.network, users, items)
    np.testing.assert_allclose(logits, model.score_pairs(users, items), atol=1e-6)


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_times_input"])
def test_the_twins_give_the_same_attributions_given_the_same_weights(twins, method):
    users, items = _pairs(twins["torch"])
    torch_values, tf_values = (
        getattr(BACKENDS[b], method)(twins[b].network, users, items) for b in ("torch", "tf")
    )
    assert torch_values.shape == (25, OPTIONS["max_tokens"])
    assert np.abs(torch_values).max() > 1e-4  # not trivially zero
    np.testing.assert_allclose(tf_values, torch_values, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_integrated_gradients_sum_to_the_logit_minus_the_baseline_logit(twins, backend):
    module, model = BACKENDS[backend], twins[backend]
    users, items = _pairs(model)
    attributions = module.integrated_gradients(model.network, users, items, steps=128)
    gap = module.token_logits(model.network, users, items) - module.token_logits(
        model.network, users, items, scale=0.0
    )
    exact = model.config.encoder == "bag"  # the bag is linear in the embeddings
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=1e-5 if exact else 1e-3)


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_attributions_are_zero_at_padding_and_removing_a_token_changes_the_logit(twins, backend):
    module, model = BACKENDS[backend], twins[backend]
    users, items = _pairs(model)
    tokens = model.tokens[items]
    attributions = module.integrated_gradients(model.network, users, items)
    assert (attributions[tokens == 0] == 0).all()
    row = int(np.argmax((tokens > 0).sum(axis=1)))
    fewer = tokens.copy()
    fewer[row, 0] = 0
    before = module.token_logits(model.network, users, items)
    after = module.token_logits(model.network, users, items, tokens=fewer)
    assert after[row] != before[row]
    np.testing.assert_array_equal(np.delete(after, row), np.delete(before, row))


def test_for_the_bag_gradient_times_input_equals_integrated_gradients(data):
    content, train = data
    model = reclearn.build("content-bag", content=content, **OPTIONS).fit(train)
    users, items = _pairs(model)
    np.testing.assert_allclose(
        torch_attribution.gradient_times_input(model.network, users, items),
        torch_attribution.integrated_gradients(model.network, users, items, steps=3),
        atol=1e-6,
    )  # the bag is linear in its token embeddings, so the path integral is exact


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_bad_steps_or_shapes_are_rejected(twins, backend):
    module, model = BACKENDS[backend], twins[backend]
    with pytest.raises(ValueError, match="steps"):
        module.integrated_gradients(model.network, [0], [0], steps=0)
    with pytest.raises(ValueError, match="one length"):
        module.token_logits(model.network, [0, 1], [0])
