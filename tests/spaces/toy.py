"""A toy second search space: a 3-layer chain of 7 ops (343 archs), written only against the
public SearchSpace contract (``eagle.spaces.chain.ChainSpace``) to prove spaces are plug-ins."""

from __future__ import annotations

from typing import Any

from eagle.spaces.chain import ChainSpace

OPS = ("conv3", "conv5", "conv1", "dw3", "pool", "skip", "wide3")


class ToyChain(ChainSpace):
    """stem conv 3->8, three layers of one op each at 8 channels, global pool, linear 10."""

    name = "toy-chain"
    choices = (OPS, OPS, OPS)
    absent_ops = frozenset({"skip"})

    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        size = int(network.get("resolution", 16))  # type: ignore[call-overload]
        return (3, size, size)

    def build_model(self, arch: object, *, seed: int = 0, **network: Any) -> Any:
        import torch
        from torch import nn

        width = int(network.get("width", 8))
        network.pop("calibrate", None)

        def layer(op: str) -> nn.Module:
            if op == "skip":
                return nn.Identity()
            if op == "pool":
                return nn.AvgPool2d(3, 1, 1)
            if op == "dw3":
                return nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, groups=width), nn.BatchNorm2d(width), nn.ReLU())
            if op == "wide3":
                return nn.Sequential(
                    nn.Conv2d(width, 2 * width, 3, 1, 1), nn.ReLU(), nn.Conv2d(2 * width, width, 3, 1, 1), nn.ReLU()
                )
            k = {"conv1": 1, "conv3": 3, "conv5": 5}[op]
            return nn.Sequential(nn.Conv2d(width, width, k, 1, k // 2), nn.BatchNorm2d(width), nn.ReLU())

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = nn.Sequential(
                nn.Conv2d(3, width, 3, 1, 1),
                *(layer(op) for op in self.parse(arch).split("-")),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(width, 10),
            )
        return model.eval()
