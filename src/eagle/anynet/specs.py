"""Model specs: how a user names a network that is not an arch of a search space.

A spec is one string, the key the results store and datasets use::

    torchvision:resnet18                          a torchvision.models builder (or class)
    torchvision:mobilenet_v2(width_mult=0.75)@160 ... with keyword arguments, at 160x160
    family:resnet(layers=(2,3,4,2))@3x192x192     a variant family (eagle.anynet.families)
    path/to/model.onnx                            an ONNX file (its own input shape)
    package.module:factory(depth=3)@3x64x64       any importable factory returning an nn.Module

Keyword values are Python literals (numbers, strings, tuples, lists, booleans, None), read with
``ast.literal_eval``: a spec never runs code by being parsed. ``@RES`` means ``3xRESxRES``;
``@CxHxW`` is a full input shape (without the batch). Without ``@`` the input is 3x224x224
(299 for Inception v3). :func:`parse_spec` returns the canonical key: keyword arguments sorted,
the input shape written out, so two spellings of one network are stored once.

Importing a user's ``module:factory`` runs that module's code: it is done only for specs the
user named (``--model``/``--models``, ``allow_code``), never for a spec read from a store or a
dataset file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eagle.errors import EagleError, InvalidArchError, show

if TYPE_CHECKING:
    from torch import nn

DEFAULT_INPUT = (3, 224, 224)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(
    rf"^(?:(?P<source>torchvision|family):)?(?P<name>{_NAME})(?:\((?P<kwargs>.*)\))?(?:@(?P<shape>[0-9x]+))?$", re.S
)
_PYTHON = re.compile(
    rf"^(?P<name>{_NAME}(?:\.{_NAME})*:{_NAME}(?:\.{_NAME})*)(?:\((?P<kwargs>.*)\))?(?:@(?P<shape>[0-9x]+))?$", re.S
)
_ALLOWED_CODE: set[str] = set()


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec: ``source`` is torchvision | family | onnx | python."""

    source: str
    name: str
    kwargs: tuple[tuple[str, object], ...] = ()
    input_shape: tuple[int, ...] | None = None  # CHW; None for ONNX (the file says)

    @property
    def key(self) -> str:
        if self.source == "onnx":
            return self.name
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs)
        text = f"{self.source}:{self.name}" if self.source != "python" else self.name
        if self.kwargs:
            text += f"({args})"
        if self.input_shape is not None:
            text += "@" + "x".join(str(d) for d in self.input_shape)
        return text

    @property
    def family(self) -> str:
        """A short family name for reports (``resnet``, ``mobilenet_v2``, ``onnx`` ...)."""
        if self.source == "onnx":
            return "onnx"
        base = self.name.rsplit(":", 1)[-1].lower()
        for prefix in FAMILY_PREFIXES:
            if base.startswith(prefix):
                return FAMILY_PREFIXES[prefix]
        return base


#: report families of torchvision builder and class names (longest prefix first)
FAMILY_PREFIXES = dict(
    sorted(
        {
            "resnet": "resnet",
            "wide_resnet": "resnet",
            "resnext": "resnet",
            "mobilenet_v2": "mobilenet_v2",
            "mobilenetv2": "mobilenet_v2",
            "mobilenet_v3": "mobilenet_v3",
            "mobilenetv3": "mobilenet_v3",
            "mnasnet": "mnasnet",
            "shufflenet": "shufflenet_v2",
            "squeezenet": "squeezenet",
            "efficientnet": "efficientnet",
            "regnet": "regnet",
            "densenet": "densenet",
            "vgg": "vgg",
            "googlenet": "googlenet",
            "inception": "inception",
            "convnext": "convnext",
            "alexnet": "alexnet",
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)


def _literal_kwargs(text: str | None, spec: str) -> tuple[tuple[str, object], ...]:
    if not text or not text.strip():
        return ()
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise InvalidArchError(f"model spec {show(spec)}: cannot read the arguments {show(text)}") from None
    if not isinstance(call, ast.Call) or call.args:
        raise InvalidArchError(f"model spec {show(spec)}: give arguments by keyword (name=value)")
    out: dict[str, object] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise InvalidArchError(f"model spec {show(spec)}: **kwargs are not accepted")
        try:
            value = ast.literal_eval(kw.value)
        except (ValueError, SyntaxError, TypeError):
            raise InvalidArchError(
                f"model spec {show(spec)}: {kw.arg}= must be a literal (number, string, tuple, list, bool, None)"
            ) from None
        out[kw.arg] = _freeze(value)
    return tuple(sorted(out.items()))


def _freeze(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _shape(text: str | None, spec: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        dims = tuple(int(d) for d in text.split("x"))
    except ValueError:
        raise InvalidArchError(f"model spec {show(spec)}: @{text} is not RES or CxHxW") from None
    if len(dims) == 1:
        dims = (3, dims[0], dims[0])
    if len(dims) != 3 or not all(1 <= d <= 8192 for d in dims):
        raise InvalidArchError(f"model spec {show(spec)}: @{text} must be RES or CxHxW with sizes in 1..8192")
    return dims


def parse_spec(spec: object, *, input_shape: tuple[int, ...] | None = None) -> ModelSpec:
    """The :class:`ModelSpec` of ``spec``; ``input_shape`` (CHW) applies when the spec has no ``@``.

    Raises :class:`InvalidArchError` saying what is wrong; nothing is imported or built.
    """
    if isinstance(spec, ModelSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArchError(f"a model spec is a non-empty string, got {show(spec)}")
    text = spec.strip()
    if text.lower().endswith(".onnx"):
        if text.startswith("onnx:"):
            text = text[5:]
        return ModelSpec("onnx", str(Path(text).expanduser().resolve()))
    m = _SPEC.match(text)
    if m is not None:
        source = m["source"] or "torchvision"
        if source == "family":
            from eagle.anynet.families import FAMILIES

            if m["name"] not in FAMILIES:
                raise InvalidArchError(
                    f"model spec {show(spec)}: no family {m['name']!r}; families: {', '.join(sorted(FAMILIES))}"
                )
        kwargs = _literal_kwargs(m["kwargs"], text)
        shape = _shape(m["shape"], text) or input_shape or _default_input(m["name"])
        return ModelSpec(source, m["name"], kwargs, shape)
    m = _PYTHON.match(text)
    if m is not None:
        kwargs = _literal_kwargs(m["kwargs"], text)
        return ModelSpec("python", m["name"], kwargs, _shape(m["shape"], text) or input_shape or DEFAULT_INPUT)
    raise InvalidArchError(
        f"cannot read the model spec {show(spec)}: expected torchvision:NAME[(k=v, ...)][@RES], "
        "family:NAME(...), a path ending in .onnx, or package.module:factory[(k=v, ...)][@CxHxW]"
    )


def _default_input(name: str) -> tuple[int, ...]:
    return (3, 299, 299) if name.lower().startswith("inception") else DEFAULT_INPUT


def read_model_list(path: Path) -> list[tuple[int, str]]:
    """(line number, spec text) of each model in a file: one spec per line, ``#`` comments and
    blank lines skipped."""
    from eagle.fileio import read_text_file

    out = []
    for n, line in enumerate(read_text_file(path, "file of models").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            out.append((n, text))
    if not out:
        raise EagleError(f"{path} lists no models")
    return out


def named_specs(
    model: str | None, models: Path | None, *, input_shape: tuple[int, ...] | None = None
) -> list[tuple[str, ModelSpec]]:
    """(text, spec) of the networks a user named: ``model`` (one spec) or ``models`` (a file of
    them, :func:`read_model_list`), each read with ``input_shape`` (CHW) where it has no ``@``.
    All are parsed and looked up before anything runs (a torchvision name that does not exist, an
    ONNX file that is not there: the error names the file and line; a ``module:factory`` is
    imported where the network is built, which may be another host), and the code of
    ``module:factory`` specs is allowed: the user named it."""
    lines = [(1, model)] if model else read_model_list(models) if models else []
    out = []
    for n, text in lines:
        try:
            spec = parse_spec(text, input_shape=input_shape)
            allow_code(spec)
            _check_exists(spec)
        except EagleError as exc:
            if model:
                raise
            raise EagleError(f"{models}: line {n}: {exc}") from None
        out.append((text, spec))
    return out


def _check_exists(spec: ModelSpec) -> None:
    """Raise if ``spec`` names a torchvision model or ONNX file that does not exist (nothing is built)."""
    if spec.source == "onnx" and not Path(spec.name).is_file():
        raise InvalidArchError(f"model spec {show(spec.key)}: no such ONNX file")
    if spec.source == "torchvision":
        _factory(spec)


def allow_code(spec: str | ModelSpec) -> None:
    """Let :func:`build` import the module of ``spec`` (a ``module:factory`` the user named)."""
    s = parse_spec(spec)
    if s.source == "python":
        _ALLOWED_CODE.add(s.name.split(":", 1)[0])


def build(spec: str | ModelSpec, *, seed: int = 0) -> nn.Module:
    """The PyTorch network of ``spec`` in eval mode (random weights from ``seed``).

    ONNX specs give an :class:`OnnxModel` (the file's bytes; only ONNX-based runtimes run it).
    """
    import torch

    s = parse_spec(spec)
    if s.source == "onnx":
        return OnnxModel.from_file(s.name)
    factory = _factory(s)
    torch.manual_seed(seed)
    try:
        model = factory(**dict(_thaw(v) for v in s.kwargs))
    except TypeError as exc:
        raise InvalidArchError(f"model spec {show(s.key)}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise EagleError(f"model spec {show(s.key)} built a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def _thaw(item: tuple[str, object]) -> tuple[str, object]:
    k, v = item
    return k, (list(v) if isinstance(v, tuple) and k in _LIST_ARGS else v)


#: keyword arguments torchvision indexes or mutates as lists
_LIST_ARGS = {"stages_repeats", "stages_out_channels", "inverted_residual_setting"}


def _factory(s: ModelSpec) -> Callable[..., object]:
    if s.source == "family":
        from eagle.anynet.families import FAMILIES

        return FAMILIES[s.name]
    if s.source == "torchvision":
        from eagle.anynet.tv import import_torchvision

        models = import_torchvision().models
        factory = getattr(models, s.name, None)
        if factory is None or not callable(factory) or s.name.startswith("_"):
            names = ", ".join(sorted(models.list_models(module=models))[:12])
            raise InvalidArchError(f"torchvision has no classification model {s.name!r}; e.g. {names}, ...")
        return factory
    module_name, _, attr = s.name.partition(":")
    import sys

    if module_name not in _ALLOWED_CODE and module_name not in sys.modules:
        raise EagleError(
            f"model spec {show(s.key)} names Python code ({module_name}); Eagle imports it only when you name it "
            "on the command line (--model/--models) or call eagle.anynet.allow_code"
        )
    import importlib

    try:
        obj: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise EagleError(f"model spec {show(s.key)}: cannot import {module_name}: {exc}") from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise EagleError(f"model spec {show(s.key)}: {module_name} has no {attr}")
    if not callable(obj):
        raise EagleError(f"model spec {show(s.key)}: {attr} is not callable")
    return obj


def input_shape(spec: str | ModelSpec) -> tuple[int, ...]:
    """CHW input shape of ``spec`` (an ONNX file's own first input, batch dropped)."""
    s = parse_spec(spec)
    if s.input_shape is not None:
        return s.input_shape
    return OnnxModel.from_file(s.name).input_shape


def _onnx_module_base() -> type:
    import torch

    return torch.nn.Module


class OnnxModel(_onnx_module_base()):  # type: ignore[misc]  # an nn.Module, built lazily above
    """An ONNX file as a module: carries ``onnx_bytes`` for ONNX-based runtimes; ``forward`` refuses."""

    def __init__(self, data: bytes, input_shape: tuple[int, ...], path: str = "") -> None:
        super().__init__()
        self.onnx_bytes = data
        self.input_shape = input_shape
        self.path = path

    @classmethod
    def from_file(cls, path: str) -> OnnxModel:
        import onnx

        p = Path(path)
        if not p.is_file():
            raise EagleError(f"ONNX model {path} does not exist")
        data = p.read_bytes()
        try:
            proto = onnx.load_from_string(data)
        except Exception as exc:  # the protobuf error types vary by version
            raise EagleError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc})") from None
        inits = {i.name for i in proto.graph.initializer}
        inputs = [i for i in proto.graph.input if i.name not in inits]
        if len(inputs) != 1:
            raise EagleError(f"{path}: Eagle times models with one input; this one has {len(inputs)}")
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in inputs[0].type.tensor_type.shape.dim]
        if len(dims) < 2 or any(d <= 0 for d in dims[1:]):
            raise EagleError(f"{path}: its input {inputs[0].name!r} has no fixed shape ({dims}); export it with one")
        return cls(data, tuple(dims[1:]), str(p))

    def forward(self, x: object) -> object:
        raise EagleError(f"{self.path} is an ONNX model: time it with --runtime onnxruntime or openvino")
