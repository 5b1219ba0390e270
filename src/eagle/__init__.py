"""Eagle: measure and predict the latency of neural networks on hardware."""

from __future__ import annotations

__version__ = "0.1.0"
