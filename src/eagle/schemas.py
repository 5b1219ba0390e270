"""Typed, validated configs: the seed's measurement and predictor YAML, and predictor hyper-parameters.

Every config that reaches Eagle (a YAML file, ``--runtime-option``, keyword arguments of
``create_predictor``) is checked here with pydantic: types are strict (``runs: abc``, ``runs: null``
and ``model: [1, 2]`` are refused), numbers are finite and in range, and unknown keys are refused
so that a typo never goes unnoticed. A failure is a :class:`~eagle.errors.UsageError` that names
the key, what it got and what it takes, in one line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eagle.errors import UsageError, show

M = TypeVar("M", bound=BaseModel)

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def validate(model: type[M], data: Any, source: str) -> M:
    """``model`` validated from ``data``; one line per problem (at most 3) naming the key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            got = f" (got {show(err['input'], 40)})" if err["type"] != "missing" else ""
            problems.append(f"{where}: {err['msg']}{got}")
        more = f"; and {exc.error_count() - 3} more" if exc.error_count() > 3 else ""
        raise UsageError(f"{source}: {'; '.join(problems)}{more}") from None


# -- the seed's measurement YAML --------------------------------------------------------------------
class TargetArgs(_Strict):
    runs: int = Field(10, ge=1, le=100_000)
    avg_between: int = Field(10, ge=1, le=1_000_000)
    interval: FiniteFloat = Field(0.0, ge=0, le=3600)
    device: Literal["cpu", "gpu", "cuda"] | None = None
    warmup: int = Field(10, ge=0, le=1_000_000)
    min_round_s: FiniteFloat = Field(0.05, ge=0, le=3600)


class DeviceSection(_Strict):
    device_addr: str | None = None
    device_user: str | None = None
    device_port: int = Field(22, ge=1, le=65535)
    separate_process: bool = True
    spawn_server: bool = False
    target_args: TargetArgs = TargetArgs()


class ModelSection(_Strict):
    cells_count: int = Field(5, ge=1, le=64)
    stacks_count: int = Field(3, ge=1, le=16)
    input_size: list[Annotated[int, Field(ge=1, le=4096)]] = Field([1, 32, 32, 3], min_length=4, max_length=4)
    data_format: Literal["channels_last", "channels_first"] = "channels_first"
    num_classes: int = Field(10, ge=1, le=100_000)


class ProtocolSection(_Strict):
    warmup: int | None = Field(None, ge=0, le=1_000_000)
    runs: int | None = Field(None, ge=1, le=100_000)
    avg_between: int | None = Field(None, ge=1, le=1_000_000)
    interval: FiniteFloat | None = Field(None, ge=0, le=3600)
    min_round_s: FiniteFloat | None = Field(None, ge=0, le=3600)


class MeasureEagleSection(_Strict):
    runtime: str | None = None
    protocol: ProtocolSection = ProtocolSection()


class MeasurementYaml(_Strict):
    device: DeviceSection = DeviceSection()
    model: ModelSection = ModelSection()
    eagle: MeasureEagleSection = MeasureEagleSection()


# -- the seed's predictor YAML ---------------------------------------------------------------------
class PredictorSection(_Strict):
    type: Literal["gcn", "mlp", "GCN", "MLP"] = "gcn"
    num_layers: int | None = Field(None, ge=1, le=64)
    num_hidden: int | None = Field(None, ge=1, le=8192)
    dropout_ratio: FiniteFloat | None = Field(None, ge=0, lt=1)
    weight_init: str | None = None
    bias_init: str | None = None


class TrainingSection(_Strict):
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    epochs: int | None = Field(None, ge=1, le=100_000)
    learning_rate: FiniteFloat | None = Field(None, gt=0, le=10)
    weight_decay: FiniteFloat | None = Field(None, ge=0, le=10)
    lr_patience: int | None = Field(None, ge=0)
    es_patience: int | None = Field(None, ge=1)


class DatasetSection(_Strict):
    training_points: int | None = Field(None, ge=1)
    validation_points: int | None = Field(None, ge=0)
    sampling_seed: int | None = Field(None, ge=0)


class PredictorEagleSection(_Strict):
    preset: Literal["eagle", "brp-nas"] = "brp-nas"
    overrides: dict[str, Any] = Field(default_factory=dict)


class PredictorYaml(_Strict):
    predictor: PredictorSection = PredictorSection()
    training: TrainingSection = TrainingSection()
    dataset: DatasetSection = DatasetSection()
    eagle: PredictorEagleSection = PredictorEagleSection()


# -- neural predictor hyper-parameters -------------------------------------------------------------
class NeuralHyperParameters(_Strict):
    """Every hyper-parameter of the GCN/MLP predictors, with its range (see ``neural.PRESETS``)."""

    model: Literal["gcn", "mlp"]
    encoding: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")  # one of the space's encodings (checked there)
    adjacency: Literal["raw", "mean"]
    readout: Literal["global", "global+mean+features"]
    hidden: int = Field(ge=1, le=8192)
    layers: int = Field(ge=1, le=64)
    dropout: FiniteFloat = Field(ge=0, lt=1)
    target: Literal["raw", "log"]
    loss: Literal["l1", "l1sum", "mse"]
    batch_size: int = Field(ge=1, le=1_000_000)
    epochs: int = Field(ge=1, le=100_000)
    lr: FiniteFloat = Field(gt=0, le=10)
    weight_decay: FiniteFloat = Field(ge=0, le=10)
    scheduler: Literal["cosine", "plateau", "none"]
    dtype: Literal["float32", "float64"]
    ensemble: int = Field(ge=1, le=64)
    validation_fraction: FiniteFloat = Field(ge=0, lt=1)
    early_stopping: int | None = Field(ge=1)
    prior: Literal["bundled"] | None
    prior_rank: int = Field(ge=1, le=64)
    prior_exclude: list[str]
    op_costs: bool
