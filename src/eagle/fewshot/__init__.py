"""Few-shot latency prediction for an unseen device (``eagle pretrain``, ``eagle select``, ``eagle calibrate``)."""

from eagle.fewshot.model import (
    BASES,
    DeviceBasis,
    FewShotPredictor,
    OpDeviceBasis,
    pretrain,
    pretrain_ops,
    select_archs,
)

__all__ = ["BASES", "DeviceBasis", "FewShotPredictor", "OpDeviceBasis", "pretrain", "pretrain_ops", "select_archs"]
