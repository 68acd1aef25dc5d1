"""TensorFlow's counterpart of DDP: ``MultiWorkerMirroredStrategy`` on local workers.

Each worker is a process given its place in the cluster by the ``TF_CONFIG``
environment variable; variables created under ``strategy.scope()`` are mirrored on
every worker, and each step all-reduces the gradients (ring or NCCL collectives).
Here a Keras MF (dot product of embeddings plus biases) trains on synthetic ratings
in a custom loop (``strategy.run``; Keras 3's ``fit`` does not take this strategy);
:func:`launch` starts the workers on free local ports and returns the chief's loss.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports free on localhost right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def launch(workers: int = 2, *, epochs: int = 2, seed: int = 0, timeout: float = 600) -> dict:
    """Train on ``workers`` local processes; the chief's ``loss`` history and workers.

    Raises:
        ValueError: ``workers < 1``.
        RuntimeError: A worker failed (its error output is included).

    Introduced in chapter "Scaling out".
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    hosts = [f"localhost:{port}" for port in free_ports(workers)]
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"reclearn-mwms-{os.getpid()}.json"
    processes = []
    for index in range(workers):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, "-m", "reclearn.distributed_tf", str(epochs), str(seed)]
        command += [str(out)] if index == 0 else []
        processes.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True))
    errors = [p.communicate(timeout=timeout)[1] for p in processes]
    failed = [e for p, e in zip(processes, errors, strict=True) if p.returncode != 0]
    if failed:
        raise RuntimeError(f"a MultiWorkerMirroredStrategy worker failed:\n{failed[0][-3000:]}")
    row = json.loads(out.read_text())
    out.unlink()
    return row


def train(epochs: int, seed: int) -> dict:
    """One worker: a Keras MF under the strategy, on 200 users x 100 items."""
    import keras
    import tensorflow as tf

    from reclearn.data import make_synthetic

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    data = make_synthetic(200, 100, density=0.2, seed=seed).ratings
    users = data["user_id"].cat.codes.to_numpy("int32")
    items = data["item_id"].cat.codes.to_numpy("int32")
    ratings = data["rating"].to_numpy("float32")
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        user_in, item_in = keras.Input((), dtype="int32"), keras.Input((), dtype="int32")
        p_u = keras.layers.Embedding(200, 8)(user_in)
        q_i = keras.layers.Embedding(100, 8)(item_in)
        b_u = keras.layers.Embedding(200, 1)(user_in)
        b_i = keras.layers.Embedding(100, 1)(item_in)
        dot = keras.ops.sum(p_u * q_i, axis=-1)
        predicted = 3.5 + dot + keras.ops.squeeze(b_u, -1) + keras.ops.squeeze(b_i, -1)
        model = keras.Model([user_in, item_in], predicted)
        optimizer = keras.optimizers.Adam(0.01)
    batches = tf.data.Dataset.from_tensor_slices(((users, items), ratings)).batch(256)
    batches = strategy.experimental_distribute_dataset(batches)

    @tf.function
    def step(batch):
        def replica_step(inputs):  # runs on each worker with its share of the batch
            (u, i), r = inputs
            with tf.GradientTape() as tape:
                error = tf.square(model([u, i], training=True) - r)
                loss = tf.nn.compute_average_loss(error, global_batch_size=256)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return loss

        losses = strategy.run(replica_step, args=(batch,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    history = []
    for _ in range(epochs):
        total = [float(step(batch)) for batch in batches]
        history.append(sum(total) / len(total))
    return {"workers": strategy.num_replicas_in_sync, "loss": history}


if __name__ == "__main__":
    row = train(int(sys.argv[1]), int(sys.argv[2]))
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps(row))
