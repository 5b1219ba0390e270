"""Any network: measure and predict the latency of a user's own PyTorch or ONNX model.

* :mod:`~eagle.anynet.specs`: name a network (``torchvision:resnet18@160``, ``model.onnx``,
  ``pkg.mod:factory``); :mod:`~eagle.anynet.families` adds depth/width variant families.
* :mod:`~eagle.anynet.space`: the ``models`` space, so the measurement harness times them.
* :mod:`~eagle.anynet.onnxgraph`: a network's kernels as ONNX Runtime executes them.
* :mod:`~eagle.anynet.kernels`: sample and time kernels on a device; fit per-kernel regressors;
  predict a network's latency as the sum of its kernels.
"""

from eagle.anynet.specs import ModelSpec, allow_code, allow_module, build, parse_spec

__all__ = ["ModelSpec", "allow_code", "allow_module", "build", "parse_spec"]
