"""``models``: any network as a "search space" whose archs are model specs.

It lets the whole measurement machinery (protocol, results store, resume, local/ssh/Ray
devices) and the datasets time and store networks a user brings: an arch's key is its canonical
model spec (:mod:`eagle.anynet.specs`). There is no distribution to sample and no graph encoding
for the GCN: latency of such networks is predicted kernel by kernel (``eagle kernels``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from eagle.anynet import specs
from eagle.errors import UsageError
from eagle.spaces.base import Archs, Encoded, SearchSpace

if TYPE_CHECKING:
    from torch import nn


class ModelsSpace(SearchSpace):
    name = "models"
    encodings = ("kernels",)

    def parse(self, arch: object) -> str:
        return specs.parse_spec(arch).key

    def keys(self, archs: Archs) -> list[str]:
        if isinstance(archs, (str, int, np.integer)):
            archs = [archs]
        return [self.parse(a) for a in archs]

    @property
    def enumerable(self) -> bool:
        return False

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        raise UsageError("the models space has no distribution to sample: list the models (--models FILE)")

    def reference_archs(self) -> list[str]:
        """Small torchvision networks of three kinds (squeeze, inverted residual, basic residual)."""
        return [
            "torchvision:squeezenet1_1@3x96x96",
            "torchvision:mobilenet_v3_small@3x128x128",
            "torchvision:resnet18@3x64x64",
        ]

    def build_model(self, arch: object, *, seed: int = 0, **network: object) -> nn.Module:
        return specs.build(self.parse(arch), seed=seed)

    def build_for_measurement(self, arch: object, network: dict[str, object], *, seed: int = 0) -> nn.Module:
        """The network with BatchNorm statistics from one random batch (realistic activations)."""
        import torch

        from eagle.spaces.counting import calibrate_batchnorm

        model = self.build_model(arch, seed=seed)
        if isinstance(model, specs.OnnxModel):
            return model
        gen = torch.Generator().manual_seed(seed)
        calibrate_batchnorm(model, torch.randn(2, *self.input_shape(arch), generator=gen))
        return model

    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        if arch is None:
            return specs.DEFAULT_INPUT
        return specs.input_shape(self.parse(arch))

    def costs(self, archs: Archs) -> np.ndarray:
        from eagle.spaces.counting import count_macs_params

        out = []
        for key in self.keys(archs):
            model = self.build_model(key)
            if isinstance(model, specs.OnnxModel):
                from eagle.anynet.onnxgraph import onnx_costs

                out.append(onnx_costs(model.onnx_bytes))
            else:
                out.append(count_macs_params(model, (1, *self.input_shape(key))))
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def encode(self, archs: Archs, encoding: str | None = None) -> Encoded:
        raise UsageError(
            "networks outside a search space have no graph encoding for the GCN; predict them kernel by kernel: "
            "eagle kernels profile / eagle kernels fit / eagle predict --model X --kernels K.pt"
        )

    def op_counts(self, archs: Archs) -> np.ndarray:
        return self.encode(archs)  # type: ignore[return-value]  # raises

    def describe(self, arch: object) -> dict[str, object]:
        s = specs.parse_spec(arch)
        return {**super().describe(arch), "family": s.family, "input_shape": list(self.input_shape(arch))}
