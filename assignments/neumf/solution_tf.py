# The TensorFlow/Keras reference for Question 1 of the NeuMF assignment: the same model,
# sampling and hyperparameters as the PyTorch reference in neumf.md. Teachers can hand it
# out after the deadline; tests/test_assignments.py grades it through `make grade`.
import keras
import numpy as np
import tensorflow as tf

from reclearn.base import Recommender


class NeuMFNet(keras.Model):
    """GMF path and MLP path over separate embeddings, fused by a linear output layer."""

    def __init__(self, num_users, num_items, num_factors, hidden):
        super().__init__()

        def embedding(size):  # N(0, 0.01^2) as in the PyTorch reference
            normal = keras.initializers.RandomNormal(stddev=0.01)
            return keras.layers.Embedding(size, num_factors, embeddings_initializer=normal)

        self.gmf_user, self.gmf_item = embedding(num_users), embedding(num_items)
        self.mlp_user, self.mlp_item = embedding(num_users), embedding(num_items)
        relu_layers = [keras.layers.Dense(size, activation="relu") for size in hidden]
        self.mlp = keras.Sequential(relu_layers)
        self.fuse = keras.layers.Dense(1)  # `output` is taken by keras.Model

    def call(self, users, items):
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(tf.concat([self.mlp_user(users), self.mlp_item(items)], axis=-1))
        return tf.squeeze(self.fuse(tf.concat([gmf, mlp], axis=-1)), axis=-1)  # logits, (batch,)


class NeuMFRecommender(Recommender):
    """NeuMF on implicit feedback: GMF and MLP paths, binary cross-entropy, sampled negatives."""

    clip_predictions = False  # scores are logits, not ratings

    def __init__(self, num_factors=16, hidden=(32, 16), epochs=3, lr=0.01, num_negatives=4,
                 batch_size=8192, seed=0):  # fmt: skip
        super().__init__()
        self.num_factors, self.hidden, self.epochs, self.lr = num_factors, hidden, epochs, lr
        self.num_negatives, self.batch_size, self.seed = num_negatives, batch_size, seed

    def _fit(self, data, validation):
        """Build the network and train it on data.users, data.items with sampled negatives."""
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.network = NeuMFNet(data.num_users, data.num_items, self.num_factors, self.hidden)
        self.network(tf.zeros(1, tf.int64), tf.zeros(1, tf.int64))  # create the weights eagerly
        optimizer = keras.optimizers.Adam(learning_rate=self.lr)
        optimizer.build(self.network.trainable_variables)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def step(users, items, labels):
            with tf.GradientTape() as tape:
                loss = bce(labels, self.network(users, items))
            weights = self.network.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

        per_positive = 1 + self.num_negatives
        users = np.repeat(data.users, per_positive)
        positives = np.repeat(data.items, per_positive)
        pattern = np.r_[1.0, np.zeros(self.num_negatives)]
        labels = np.tile(pattern, len(data.users)).astype(np.float32)
        for _ in range(self.epochs):
            items = np.where(labels == 1, positives, rng.integers(0, data.num_items, len(labels)))
            order = rng.permutation(len(labels))
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                step(users[batch], items[batch], labels[batch])

    def _score_pairs(self, users, items):
        """Scores, float64 array of shape (n,), for index arrays of shape (n,)."""
        logits = self.network(tf.constant(users, tf.int64), tf.constant(items, tf.int64))
        return logits.numpy().astype(np.float64)
