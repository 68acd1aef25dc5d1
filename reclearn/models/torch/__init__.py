"""PyTorch twins of the reclearn models."""

import os

# OpenMP threads that sleep instead of spinning when idle: on a busy 2-core laptop,
# spinning made training 10-50 times slower. Only effective before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
