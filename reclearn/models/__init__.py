"""Models: ``torch/`` and ``tf/`` hold twin implementations of the same networks."""
