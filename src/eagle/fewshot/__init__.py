"""Few-shot latency prediction for an unseen device (``eagle pretrain``, ``eagle select``, ``eagle calibrate``)."""

from eagle.fewshot.model import DeviceBasis, FewShotPredictor, pretrain, select_archs

__all__ = ["DeviceBasis", "FewShotPredictor", "pretrain", "select_archs"]
