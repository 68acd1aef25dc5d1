"""The sequential models: histories in time order, the Markov chain and sequence kNN
worked by hand, and the GRU4Rec and SASRec twins (weights copied torch -> tf give the
same states, losses and scores; the GRU step is PyTorch's GRU cell; attention is
causal). The Recommender contract: tests/test_recommender_contract.py; one epoch from
the same seed in both backends: tests/test_twins.py."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.configs import GRU4RecConfig, SASRecConfig
from reclearn.sampling import PositiveSets
from reclearn.sequences import histories, training_windows, user_sequences, window_sampler

SEQUENTIAL = ["markov", "sequence-knn", "gru4rec", "sasrec"]
TINY_NETWORK = {"num_factors": 4, "max_len": 5, "epochs": 2, "batch_size": 4}
TINY_NETWORK |= {"verbose": False, "learning_rate": 0.01}

# user a watches x, y, z in this order; b watches y, z; c watches x, z (ids sort x<y<z)
TINY = pd.DataFrame(
    {
        "user_id": ["a", "a", "a", "b", "b", "c", "c"],
        "item_id": ["z", "x", "y", "z", "y", "z", "x"],
        "rating": [4.0, 5.0, 3.0, 2.0, 4.0, 5.0, 1.0],
        "timestamp": [30, 10, 20, 8, 7, 5, 4],
    }
)


def _build(name, backend="torch", **options):
    if name in ("gru4rec", "sasrec"):
        options = {**TINY_NETWORK, **options}
    return reclearn.build(name, backend, **options)


# --- sequences ---------------------------------------------------------------------


def test_sequences_follow_time_and_histories_are_right_aligned():
    users = np.array([0, 0, 0, 1, 1])
    items = np.array([7, 3, 5, 2, 4])
    order = np.array([1, 2, 0, 4, 3])  # user 0: 3, 5, 7; user 1: 4, 2
    sequences = user_sequences(users, items, order, num_users=3)
    assert sequences.of(0).tolist() == [3, 5, 7]
    assert sequences.of(1).tolist() == [4, 2]
    assert sequences.counts().tolist() == [3, 2, 0]
    # shifted by one, 0 is padding, the latest item last
    expected = [[0, 4, 6, 8], [0, 0, 5, 3], [0, 0, 0, 0]]
    assert histories(sequences, np.array([0, 1, 2]), 4).tolist() == expected
    assert histories(sequences, np.array([0]), 2).tolist() == [[6, 8]]


def test_training_windows_hold_every_transition_once_cut_from_the_end():
    sequences = user_sequences(np.zeros(6, int), np.arange(6), np.arange(6), num_users=1)
    windows = training_windows(sequences, max_len=3)  # shifted: 1..6, 5 transitions
    assert windows["users"].tolist() == [0, 0]
    assert windows["inputs"].tolist() == [[3, 4, 5], [0, 1, 2]]
    assert windows["targets"].tolist() == [[4, 5, 6], [0, 2, 3]]


def test_sampled_negatives_are_never_the_users_items_and_padding_gets_none():
    users, items = np.array([0, 0, 0, 1, 1]), np.array([0, 1, 2, 3, 4])
    sequences = user_sequences(users, items, np.arange(5), num_users=2)
    positives = PositiveSets(users, items, 2, 8)
    draw = window_sampler(sequences, positives, 4, 3, replace=True, seed=0)
    first, second = draw(0), draw(1)
    real = first["targets"] > 0
    assert (first["negatives"][~real] == 0).all()
    owners = np.repeat(np.array([0, 1]), real.sum(axis=1))
    negatives = first["negatives"][real] - 1
    assert not positives.contains(np.repeat(owners, 3), negatives.ravel()).any()
    assert not np.array_equal(first["negatives"], second["negatives"])  # fresh each epoch


# --- the baselines, by hand --------------------------------------------------------


def test_the_markov_chain_scores_the_transitions_out_of_the_recent_items():
    model = _build("markov", window=2, decay=0.5).fit(TINY)
    x, y, z = model.index.items(["x", "y", "z"])
    # transitions: a x->y, y->z; b y->z; c x->z: P(y|x) = P(z|x) = 1/2, P(z|y) = 1
    p = model.transitions_.toarray()
    assert p[x, y] == p[x, z] == 0.5 and p[y, z] == 1.0 and p[z].sum() == 0
    scores = model.score_users(model.index.users(["a", "b"]))
    popularity = model.popularity_ / model.popularity_.max()
    # a's latest items: z (weight 1, leads nowhere), then y (weight 0.5)
    expected_a = 0.5 * p[y] + 1e-6 * popularity
    np.testing.assert_allclose(scores[0], expected_a, rtol=1e-12)
    expected_b = p[z] + 0.5 * p[y] + 1e-6 * popularity  # b: z, then y
    np.testing.assert_allclose(scores[1], expected_b, rtol=1e-12)


def test_sequence_knn_votes_with_the_users_who_share_the_recent_items():
    model = _build("sequence-knn", k=1, window=1).fit(TINY)
    users = model.index.users(["a", "b", "c"])
    # every user's latest item is z, which everyone has: the nearest neighbours are
    # those with the shortest history (similarity 1 / sqrt(2) against a's 1 / sqrt(3))
    scores = model.score_users(users)
    matrix = np.zeros((3, 3))
    u, i = model.index.encode(TINY)
    matrix[u, i] = 1.0
    votes = scores - 1e-6 * model.popularity_ / model.popularity_.max()
    sim = 1 / np.sqrt(2)
    both = matrix[users[1]] + matrix[users[2]]  # a: b and c tie, and ties all vote
    np.testing.assert_allclose(votes[0], sim * both, atol=1e-12)
    np.testing.assert_allclose(votes[1], sim * matrix[users[2]], atol=1e-12)  # b: c
    np.testing.assert_allclose(votes[2], sim * matrix[users[1]], atol=1e-12)  # c: b


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_permuting_the_rows_changes_no_score_even_with_tied_timestamps(name, small):
    ratings = small.ratings.assign(timestamp=small.ratings["timestamp"] // 200_000)
    assert ratings.duplicated(["user_id", "timestamp"]).any()  # ties
    train, _ = split.leave_last_out(ratings)
    shuffled = train.sample(frac=1.0, random_state=1)
    first, second = (_build(name).fit(frame) for frame in (train, shuffled))
    users = np.arange(first.index.num_users)
    np.testing.assert_array_equal(first.score_users(users), second.score_users(users))


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_a_sequential_model_names_the_missing_timestamp(name):
    with pytest.raises(ValueError, match="'timestamp' column"):
        _build(name).fit(TINY.drop(columns="timestamp"))


def test_the_order_of_the_history_matters_to_sasrec(small):
    model = _build("sasrec").fit(small.ratings)
    backwards = small.ratings.assign(timestamp=-small.ratings["timestamp"])
    other = _build("sasrec").fit(backwards)
    users = np.arange(model.index.num_users)
    assert not np.allclose(model.score_users(users), other.score_users(users))


def test_early_stopping_keeps_the_best_epoch_on_validation(small):
    train, validation = split.leave_last_out(small.ratings)
    validation = validation[validation["item_id"].isin(train["item_id"])]  # monitored
    model = _build("gru4rec", epochs=6, patience=2).fit(train, validation=validation)
    ndcg = [record["val_ndcg"] for record in model.history]
    from reclearn.evaluate import evaluate_ranking

    kept = evaluate_ranking(model, train, validation, metrics=["ndcg"]).summary["ndcg@10"]
    assert kept == pytest.approx(max(ndcg), abs=1e-9)


# --- the twin networks -------------------------------------------------------------

CONFIGS = {
    "GRU4Rec": GRU4RecConfig(num_factors=6, max_len=5, dropout=0.0),
    "SASRec": SASRecConfig(num_factors=6, max_len=5, dropout=0.0),
}
HISTORIES = np.array([[0, 0, 3, 1, 7], [2, 4, 6, 8, 1], [0, 0, 0, 0, 5]])
TARGETS = np.array([[0, 0, 1, 7, 2], [4, 6, 8, 1, 3], [0, 0, 0, 0, 2]])
NEGATIVES = np.array([[[0]] * 5, [[5], [2], [3], [6], [8]], [[0]] * 4 + [[6]]])
NEGATIVES[0, 2:, 0] = [4, 5, 6]


def _networks(name, seed=0):
    from reclearn.models.tf import sequence as tf_sequence
    from reclearn.models.torch import sequence as torch_sequence

    return tuple(
        getattr(module, name)(8, CONFIGS[name], np.random.default_rng(seed))
        for module in (torch_sequence, tf_sequence)
    )


def _arrays(network):
    from reclearn.models.tf import recommender as tf_recommender
    from reclearn.models.torch import recommender as torch_recommender

    module = torch_recommender if hasattr(network, "parameters") else tf_recommender
    return module.network_arrays(network)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_sequence_twins_start_equal_and_compute_the_same_given_the_same_weights(name):
    import tensorflow as tf
    import torch

    torch_net, tf_net = _networks(name)
    torch_weights, tf_weights = _arrays(torch_net), _arrays(tf_net)
    assert list(torch_weights) == list(tf_weights)
    for key, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[key], value)
    from reclearn.models.tf.recommender import set_network_arrays

    other = _arrays(_networks(name, seed=1)[0])
    set_network_arrays(tf_net, other)
    from reclearn.models.torch.recommender import set_network_arrays as set_torch

    set_torch(torch_net, other)
    batch = (HISTORIES, TARGETS, NEGATIVES)
    with torch.no_grad():
        torch_states = torch_net(torch.as_tensor(HISTORIES)).numpy()
        torch_loss = torch_net.objective(*(torch.as_tensor(a) for a in batch)).item()
        torch_scores = torch_net.score_all(torch.as_tensor(HISTORIES)).numpy()
    tf_states = tf_net(tf.constant(HISTORIES)).numpy()
    tf_loss = float(tf_net.objective(*(tf.constant(a) for a in batch)))
    tf_scores = tf_net.score_all(tf.constant(HISTORIES)).numpy()
    np.testing.assert_allclose(tf_states, torch_states, rtol=0, atol=1e-5)
    assert tf_loss == pytest.approx(torch_loss, abs=1e-5)
    np.testing.assert_allclose(tf_scores, torch_scores, rtol=0, atol=1e-5)
    assert torch_scores.shape == (3, 8)
    np.testing.assert_allclose(
        torch_scores,
        torch_states[:, -1] @ other["item_embedding.embeddings"][1:].T,
        rtol=0,
        atol=1e-5,
    )


def test_the_gru_step_is_pytorchs_gru_cell():
    import torch

    network, _ = _networks("GRU4Rec", seed=2)
    weights = _arrays(network)
    cell = torch.nn.GRUCell(6, 6)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.as_tensor(weights["input_gates.kernel"].T))
        cell.bias_ih.copy_(torch.as_tensor(weights["input_gates.bias"] + 0.1))
        cell.weight_hh.copy_(torch.as_tensor(weights["hidden_gates.kernel"].T))
        cell.bias_hh.copy_(torch.as_tensor(weights["hidden_gates.bias"] - 0.2))
        network.input_gates.bias.add_(0.1)
        network.hidden_gates.bias.sub_(0.2)
        x, h = torch.randn(4, 6), torch.randn(4, 6)
        ours = network.step(network.input_gates(x), h)
        np.testing.assert_allclose(ours.numpy(), cell(x, h).numpy(), rtol=0, atol=1e-6)


def _states(network, histories):
    import torch

    if hasattr(network, "parameters"):
        with torch.no_grad():
            return network(torch.as_tensor(histories)).numpy()
    return network(histories).numpy()


@pytest.mark.parametrize("backend", ["torch", "tf"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_state_never_depends_on_later_items(name, backend):
    network = _networks(name)[backend == "tf"]
    changed = HISTORIES.copy()
    changed[:, -1] = [2, 3, 4]  # only the latest items differ
    states = [_states(network, history) for history in (HISTORIES, changed)]
    np.testing.assert_allclose(states[0][:, :-1], states[1][:, :-1], rtol=0, atol=1e-6)
    assert not np.allclose(states[0][:, -1], states[1][:, -1])


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("sasrec", {"max_len": 0}, ["max_len", "0"]),
        ("sasrec", {"num_blocks": 0}, ["num_blocks", "0"]),
        ("gru4rec", {"dropout": 1.0}, ["dropout", "[0, 1)"]),
        ("gru4rec", {"validation_fraction": 0.1}, ["validation_fraction", "leave_last_out"]),
        ("markov", {"decay": 0.0}, ["decay", "0"]),
        ("markov", {"window": 0}, ["window", "0"]),
        ("sequence-knn", {"k": 0}, ["k", "0"]),
    ],
)
def test_bad_options_of_the_sequential_models_are_named(name, options, words):
    with pytest.raises(ValueError) as error:
        reclearn.build(name, "torch", **options)
    for word in words:
        assert word in str(error.value)
