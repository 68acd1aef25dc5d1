"""PyTorch twins of the reclearn models."""
