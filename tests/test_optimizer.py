"""The training loops' Adam: lazy for embedding tables, the same rule in both twins."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from reclearn.models.tf.recommender import Adam as TFAdam  # noqa: E402
from reclearn.models.torch.recommender import Adam as TorchAdam  # noqa: E402

ROWS, K = 7, 3
# Three batches; rows repeat within a batch and rows 5 and 6 are never looked up.
BATCHES = [np.array([0, 2, 2, 4]), np.array([1, 1, 1, 3]), np.array([4, 0, 2, 2])]
LEARNING_RATE, EPSILON = 0.1, 1e-8


def _table(rng_seed: int = 0) -> np.ndarray:
    return np.random.default_rng(rng_seed).normal(size=(ROWS, K)).astype(np.float32)


def _targets(batch: np.ndarray) -> np.ndarray:
    return np.linspace(-1, 1, len(batch) * K, dtype=np.float32).reshape(len(batch), K)


def _train_torch(kind: str) -> tuple[list[np.ndarray], object]:
    """The table after each batch, trained by ``kind``: lazy, sparse-adam or dense."""
    network = torch.nn.Embedding(ROWS, K, sparse=kind != "dense")
    with torch.no_grad():
        network.weight.copy_(torch.from_numpy(_table()))
    if kind == "lazy":
        optimizer = TorchAdam(network, LEARNING_RATE, EPSILON)
    else:
        reference = torch.optim.SparseAdam if kind == "sparse-adam" else torch.optim.Adam
        optimizer = reference(network.parameters(), lr=LEARNING_RATE, eps=EPSILON)
    tables = []
    for batch in BATCHES:
        looked_up = network(torch.from_numpy(batch))
        loss = ((looked_up - torch.from_numpy(_targets(batch))) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tables.append(network.weight.detach().numpy().copy())
    return tables, optimizer


def _train_tf() -> tuple[np.ndarray, TFAdam]:
    table = tf.Variable(_table())
    optimizer = TFAdam(learning_rate=LEARNING_RATE, epsilon=EPSILON)
    for batch in BATCHES:
        with tf.GradientTape() as tape:
            looked_up = tf.gather(table, batch)
            loss = tf.reduce_sum((looked_up - _targets(batch)) ** 2)
        gradient = tape.gradient(loss, table)
        assert isinstance(gradient, tf.IndexedSlices)
        optimizer.apply_gradients([(gradient, table)])
    return table.numpy(), optimizer


def test_the_torch_lazy_adam_follows_pytorchs_sparse_adam():
    ours, _ = _train_torch("lazy")
    reference, _ = _train_torch("sparse-adam")
    np.testing.assert_allclose(ours[-1], reference[-1], rtol=1e-6, atol=1e-7)


def test_the_tensorflow_twin_takes_the_same_lazy_steps():
    tf_table, _ = _train_tf()
    torch_tables, _ = _train_torch("lazy")
    np.testing.assert_allclose(tf_table, torch_tables[-1], rtol=1e-5, atol=1e-5)  # float32


def test_rows_never_looked_up_keep_their_weights_and_zero_moments():
    start = _table()
    torch_tables, torch_optimizer = _train_torch("lazy")
    tf_table, tf_optimizer = _train_tf()
    for table in (torch_tables[-1], tf_table):
        np.testing.assert_array_equal(table[5:], start[5:])
        assert not np.allclose(table[:5], start[:5])
    ((m, v),) = torch_optimizer.moments.values()
    assert not m[5:].any() and not v[5:].any()
    assert not tf_optimizer._momentums[0].numpy()[5:].any()


def test_a_row_moves_only_in_the_steps_whose_batch_looks_it_up():
    lazy, _ = _train_torch("lazy")
    dense, _ = _train_torch("dense")
    # Row 3 is looked up in the second batch only: dense Adam's momentum moves it again
    # in the third step (and its zero gradient pulls it in steps without it).
    np.testing.assert_array_equal(lazy[2][3], lazy[1][3])
    assert not np.allclose(dense[2][3], dense[1][3])
    np.testing.assert_array_equal(lazy[0][3], _table()[3])
