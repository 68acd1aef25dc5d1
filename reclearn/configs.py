"""One frozen configuration per model, shared by the PyTorch and TensorFlow twins."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the training loop, the same for every model and backend."""

    epochs: int = 20
    """Passes over the training ratings (fewer if early stopping triggers)."""
    batch_size: int = 1024
    """Ratings per minibatch."""
    learning_rate: float = 1e-3
    """Adam's step size."""
    adam_epsilon: float = 1e-8
    """Adam's epsilon, set explicitly: torch and Keras differ by default (1e-8 vs 1e-7)."""
    seed: int = 0
    """Seed of the initial weights, the minibatch order and any validation split."""
    validation_fraction: float = 0.0
    """If positive and no validation frame is passed, hold out this fraction of train."""
    patience: int = 0
    """Stop after this many epochs without a better validation RMSE (0: never stop)."""
    verbose: bool = True
    """Show a progress bar (one final line when output is not a terminal)."""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if self.patience < 0:
            raise ValueError(f"patience must be non-negative, got {self.patience}")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class MFConfig(TrainConfig):
    """Biased matrix factorisation, r_hat = mu + b_u + b_i + p_u . q_i."""

    num_factors: int = 32
    """Length k of every user and item vector."""
    l2: float = 0.15
    """Weight of the squared-norm penalty on the vectors and biases a batch touches."""
    init_std: float = 0.1
    """Standard deviation of the normal initial vectors (biases start at zero)."""
    epochs: int = 10
    batch_size: int = 16384
    learning_rate: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_factors < 1:
            raise ValueError(f"num_factors must be at least 1, got {self.num_factors}")
        if self.l2 < 0 or self.init_std < 0:
            raise ValueError("l2 and init_std must be non-negative")
