"""Eagle's use cases as typed workflows: each takes a spec and returns a typed result, and the
command line is parse -> spec -> workflow -> print on top of them (issue 34).

- :func:`train` (:class:`TrainSpec` -> :class:`TrainedPredictor`): fit a predictor on a dataset,
  or adapt a few-shot base to a new device's k measurements; the result saves a checkpoint with
  its provenance.
- :func:`select` (:class:`SelectSpec` -> :class:`Selection`): the k archs to measure on a new
  device for the best few-shot adaptation (or the next k, given those measured).
- any network, kernel by kernel (:mod:`eagle.workflows.kernels`): :func:`profile_kernels`,
  :func:`fit_kernels`, :func:`calibrate_kernels`, :func:`load_kernel_model`.
- :func:`calibrate_device` (:class:`CalibrateSpec` -> :class:`DeviceCalibration`): a new device
  end to end: propose k archs, measure them (a sweep template says how), adapt, repeat ``until``.
- :func:`evaluate` (:class:`EvaluateSpec` -> :class:`EvaluationReport`): score a model on the
  archs it was not trained on, and say when it already carries the dataset.

``import eagle`` offers each under the same name (``eagle.train``, ``eagle.profile_kernels``, ...).
The kernel workflows are imported when first used (they bring the kernel model's dependencies).
"""

from __future__ import annotations

from typing import Any

from eagle.workflows.calibrate import CalibrateSpec, DeviceCalibration, calibrate_device
from eagle.workflows.evaluate import EvaluateSpec, EvaluationReport, evaluate
from eagle.workflows.select import Selection, SelectSpec, select
from eagle.workflows.train import TrainedPredictor, TrainSpec, train

_KERNELS = {
    "KernelCalibration",
    "KernelFit",
    "ProfileReport",
    "ProfileSpec",
    "calibrate_kernels",
    "fit_kernels",
    "load_kernel_model",
    "profile_kernels",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - the kernel workflows, imported when first used
    if name in _KERNELS:
        from eagle.workflows import kernels

        return getattr(kernels, name)
    raise AttributeError(f"module 'eagle.workflows' has no attribute {name!r}")


__all__ = [
    *sorted(_KERNELS),
    "CalibrateSpec",
    "DeviceCalibration",
    "calibrate_device",
    "EvaluateSpec",
    "EvaluationReport",
    "SelectSpec",
    "Selection",
    "TrainSpec",
    "TrainedPredictor",
    "evaluate",
    "select",
    "train",
]
