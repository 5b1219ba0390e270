"""Model specs: how a user names a network that is not an arch of a search space.

A spec is one string, the key the results store and datasets use::

    torchvision:resnet18                          a torchvision classification model (or its class)
    torchvision:mobilenet_v2(width_mult=0.75)@160 ... with keyword arguments, at 160x160
    family:resnet(layers=(2,3,4,2))@3x192x192     a variant family (eagle.anynet.families)
    path/to/model.onnx                            an ONNX file (its own input shape)
    package.module:factory(depth=3)@3x64x64       a factory of yours returning an nn.Module

Keyword values are Python literals (numbers, strings, tuples, lists, booleans, None), read with
``ast.literal_eval`` and bounded in size: a spec never runs code by being parsed. ``@RES`` means
``3xRESxRES``; ``@CxHxW`` is a full input shape (without the batch). Without ``@`` the input is
3x224x224 (299 for Inception v3). :func:`parse_spec` returns the canonical key: keyword arguments
sorted, the input shape written out, so two spellings of one network are stored once.

**Code policy.** A ``module:factory`` spec runs the user's code, so it is called only when its
module was *allowed* in this process: by the user on the command line (``--model M:F`` names it;
a ``--models`` list needs ``--allow-module M``) or from Python (:func:`allow_module`,
:func:`allow_code`). A spec read from data (a CSV, a results store, a dataset, a checkpoint, an
``--archs`` file) never allows anything, so it can name only torchvision models, ``family:``
variants and ONNX files. Standard-library and builtins modules, Eagle, torch and torchvision are
never factory modules; the factory found must be an ``nn.Module`` class or a function defined in
the allowed module (``mypkg:os.system`` is refused), and what it returns must be an ``nn.Module``
before anything else happens to it. torchvision specs name only its classification models and
their classes, and never download weights. Building is bounded in time and memory
(:mod:`eagle.anynet.limits`).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eagle.errors import EagleError, InvalidArchError, show

if TYPE_CHECKING:
    from torch import nn

DEFAULT_INPUT = (3, 224, 224)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(
    rf"(?:(?P<source>torchvision|family):)?(?P<name>{_NAME})(?:\((?P<kwargs>.*)\))?(?:@(?P<shape>[0-9x]+))?", re.S
)
_PYTHON = re.compile(
    rf"(?P<name>{_NAME}(?:\.{_NAME})*:{_NAME}(?:\.{_NAME})*)(?:\((?P<kwargs>.*)\))?(?:@(?P<shape>[0-9x]+))?", re.S
)
_MODULE = re.compile(rf"{_NAME}(?:\.{_NAME})*")
#: modules (and their submodules) whose factories specs may call: allowed by the user in this process
_ALLOWED_MODULES: set[str] = set()
#: never factory modules, whoever allows them (besides the standard library and builtins)
_NEVER = frozenset({"eagle", "torch", "torchvision"})
#: keyword arguments that would download weights: Eagle never touches the network at run time
_DOWNLOAD_ARGS = ("weights", "weights_backbone", "pretrained", "pretrained_backbone")
#: bounds on a spec's literal keyword values (far above any real network's)
MAX_INT = 1 << 20
MAX_ITEMS = 256
MAX_DEPTH = 4
#: bound on numbers inside a list argument of torchvision/family specs (widths, repeats, strides)
MAX_NESTED_INT = 8192


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
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise InvalidArchError(
                f"model spec {show(spec)}: {kw.arg}= must be a literal (number, string, tuple, list, bool, None)"
            ) from None
        _check_literal(value, f"model spec {show(spec)}: {kw.arg}=")
        out[kw.arg] = _freeze(value)
    return tuple(sorted(out.items()))


def _check_literal(value: object, where: str, depth: int = 0) -> None:
    """Refuse literal values no network needs: huge numbers, long or deep containers, sets, dicts."""
    import math

    if depth > MAX_DEPTH:
        raise InvalidArchError(f"{where} is nested more than {MAX_DEPTH} deep")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise InvalidArchError(f"{where} holds {show(value, 30)}, out of range (|n| <= {MAX_INT})")
        return
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_INT:
            raise InvalidArchError(f"{where} holds {show(value, 30)}, not a finite number of at most {MAX_INT}")
        return
    if isinstance(value, str):
        if len(value) > MAX_ITEMS:
            raise InvalidArchError(f"{where} holds a string of {len(value)} characters (at most {MAX_ITEMS})")
        return
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise InvalidArchError(f"{where} holds {len(value)} items (at most {MAX_ITEMS})")
        for v in value:
            _check_literal(v, where, depth + 1)
        return
    raise InvalidArchError(f"{where} holds a {type(value).__name__}; give numbers, strings, tuples, lists, bools, None")


def _largest_int(value: object) -> int:
    if isinstance(value, (list, tuple)):
        return max((_largest_int(v) for v in value), default=0)
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 0


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
    if len(text) > 4096:
        raise InvalidArchError(f"model spec {show(spec)} is {len(text)} characters long; a spec is at most 4096")
    m = _SPEC.fullmatch(text)
    if m is not None:
        source = m["source"] or "torchvision"
        if source == "family":
            from eagle.anynet.families import FAMILIES

            if m["name"] not in FAMILIES:
                raise InvalidArchError(
                    f"model spec {show(spec)}: no family {m['name']!r}; families: {', '.join(sorted(FAMILIES))}"
                )
        kwargs = _literal_kwargs(m["kwargs"], text)
        for name, value in kwargs:
            if isinstance(value, tuple) and _largest_int(value) > MAX_NESTED_INT:
                raise InvalidArchError(
                    f"model spec {show(spec)}: {name}= holds {_largest_int(value)}; the numbers in a list "
                    f"(widths, repeats, strides) are at most {MAX_NESTED_INT}"
                )
            if name in _DOWNLOAD_ARGS and value not in (None, False):
                raise InvalidArchError(
                    f"model spec {show(spec)}: {name}={show(value, 40)} would download weights; Eagle never uses "
                    "the network at run time and times random weights (latency does not depend on them): drop it"
                )
        shape = _shape(m["shape"], text) or input_shape or _default_input(m["name"])
        return ModelSpec(source, m["name"], kwargs, shape)
    m = _PYTHON.fullmatch(text)
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
    model: str | None,
    models: Path | None,
    *,
    input_shape: tuple[int, ...] | None = None,
    allow_modules: Sequence[str] = (),
) -> list[tuple[str, ModelSpec]]:
    """(text, spec) of the networks a user named: ``model`` (one spec) or ``models`` (a file of
    them, :func:`read_model_list`), each read with ``input_shape`` (CHW) where it has no ``@``.

    ``allow_modules`` (``--allow-module``) are allowed first; ``model``, typed by the user, allows
    its own module; a ``module:factory`` line of a ``models`` file must come from an allowed module
    (a shared list cannot make Eagle run code the user did not name). All are parsed and looked up
    before anything runs (a torchvision name that does not exist, an ONNX file that is not there, a
    module not allowed: the error names the file and line; a ``module:factory`` is imported where
    the network is built, which may be another host)."""
    for name in allow_modules:
        allow_module(name)
    lines = [(1, model)] if model else read_model_list(models) if models else []
    out = []
    for n, text in lines:
        try:
            spec = parse_spec(text, input_shape=input_shape)
            if model:
                allow_code(spec)
            check_allowed(spec)
            _check_exists(spec)
            if model and spec.source != "onnx":
                build(spec)  # one network: check up front that it builds and takes its input (meta run)
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


def allow_module(name: str) -> None:
    """Let specs call factories of module ``name`` and its submodules (``mypkg`` allows
    ``mypkg.nets:build``): the user allowed that code. The standard library, builtins, Eagle,
    torch and torchvision are refused (:class:`UsageError`)."""
    from eagle.errors import UsageError

    if not isinstance(name, str) or not _MODULE.fullmatch(name):
        raise UsageError(f"--allow-module {show(name)}: expected a Python module name such as mypkg or mypkg.nets")
    if _never(name):
        raise UsageError(
            f"--allow-module {name}: standard-library, builtins, eagle, torch and torchvision modules are never "
            "model factories; name a module of your own that builds your network"
        )
    _ALLOWED_MODULES.add(name)


def allowed_modules() -> tuple[str, ...]:
    """The modules allowed in this process (sent to measurement workers with the sweep)."""
    return tuple(sorted(_ALLOWED_MODULES))


def allow_code(spec: str | ModelSpec) -> None:
    """Let :func:`build` call the factory of ``spec`` (a ``module:factory`` the user named): allows
    its module (:func:`allow_module`)."""
    s = parse_spec(spec)
    if s.source == "python":
        allow_module(s.name.split(":", 1)[0])


def _never(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names or top in _NEVER or top.startswith("_")


def _module_allowed(module: str) -> bool:
    return not _never(module) and any(module == m or module.startswith(m + ".") for m in _ALLOWED_MODULES)


def check_allowed(spec: str | ModelSpec) -> None:
    """Raise unless ``spec`` may be built here: not a ``module:factory``, or one whose module the
    user allowed (nothing is imported)."""
    s = parse_spec(spec)
    if s.source != "python":
        return
    module = s.name.split(":", 1)[0]
    if _never(module):
        raise EagleError(
            f"model spec {show(s.key)}: {module.split('.')[0]} is a standard-library, builtins, eagle, torch or "
            "torchvision module, never a model factory; refused, nothing was run"
        )
    if not _module_allowed(module):
        raise EagleError(
            f"model spec {show(s.key)} names Python code ({module}) that you did not allow: a spec read from a "
            f"file never runs code on its own; if it is yours, allow it with --allow-module {module.split('.')[0]} "
            "(Python: eagle.anynet.allow_module). Nothing was run"
        )


def build(spec: str | ModelSpec, *, seed: int = 0, check: bool = True) -> nn.Module:
    """The PyTorch network of ``spec`` in eval mode (random weights from ``seed``), built within
    :func:`~eagle.anynet.limits.bounded_build`; with ``check``, run once on meta tensors at the
    spec's input (:func:`~eagle.anynet.limits.check_runs`: a shape it cannot take, activations
    too large for memory: one clear error).

    ONNX specs give an :class:`OnnxModel` (the file's bytes; only ONNX-based runtimes run it).
    """
    import torch

    from eagle.anynet.limits import bounded_build, check_runs

    s = parse_spec(spec)
    if s.source == "onnx":
        return OnnxModel.from_file(s.name)
    factory = _factory(s)
    torch.manual_seed(seed)
    with bounded_build(s.key):
        try:
            model = factory(**dict(_thaw(v) for v in s.kwargs))
        except EagleError:
            raise
        except MemoryError:
            raise EagleError(f"model spec {show(s.key)} needs more memory than this machine has to build") from None
        except (TypeError, ValueError, AssertionError, IndexError, KeyError, ZeroDivisionError) as exc:
            raise InvalidArchError(f"model spec {show(s.key)} cannot be built: {_first_line(exc)}") from None
        except Exception as exc:  # the factory's own code failed: the spec's problem, said in one line
            raise EagleError(f"model spec {show(s.key)} cannot be built: {_first_line(exc)}") from None
        if not isinstance(model, torch.nn.Module):
            raise EagleError(f"model spec {show(s.key)} built a {type(model).__name__}, not a torch.nn.Module; refused")
        model.eval()
        if check and s.input_shape is not None:
            check_runs(model, (1, *s.input_shape), s.key)
    return model


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {(lines[0] if lines else '')[:200]}"


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
        return _torchvision_factory(s)
    check_allowed(s)
    module_name, _, attr = s.name.partition(":")
    import importlib
    import inspect

    import torch

    try:
        obj: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise EagleError(f"model spec {show(s.key)}: cannot import {module_name}: {exc}") from None
    for part in attr.split("."):
        if part.startswith("__"):
            raise EagleError(f"model spec {show(s.key)}: {part} is not a model factory")
        obj = getattr(obj, part, None)
        if obj is None:
            raise EagleError(f"model spec {show(s.key)}: {module_name} has no {attr}")
    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        return obj
    if inspect.isfunction(obj) and _module_allowed(str(getattr(obj, "__module__", ""))):
        return obj
    raise EagleError(
        f"model spec {show(s.key)}: {attr} is not a model factory (a function defined in {module_name}, or an "
        "nn.Module class); refused, nothing was run"
    )


def _torchvision_factory(s: ModelSpec) -> Callable[..., object]:
    """A torchvision classification model builder (``list_models``) or a model class; nothing else
    of torchvision's (``get_model``, ``get_weight``, I/O helpers) is reachable from a spec."""
    import torch

    from eagle.anynet.tv import import_torchvision

    models = import_torchvision().models
    names = set(models.list_models(module=models))
    factory = getattr(models, s.name, None) if not s.name.startswith("_") else None
    if s.name in names and callable(factory):
        return factory
    if isinstance(factory, type) and issubclass(factory, torch.nn.Module):
        return factory
    shown = ", ".join(sorted(names)[:12])
    raise InvalidArchError(f"torchvision has no classification model {s.name!r}; e.g. {shown}, ...")


def input_shape(spec: str | ModelSpec) -> tuple[int, ...]:
    """CHW input shape of ``spec`` (an ONNX file's own first input, batch dropped)."""
    s = parse_spec(spec)
    if s.input_shape is not None:
        return s.input_shape
    return OnnxModel.from_file(s.name).input_shape


#: protobuf's own limit on one message: larger models keep their weights in external files
MAX_ONNX_BYTES = 2 << 30


def _all_tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of an ONNX graph: initializers, Constant attributes, subgraphs' own."""
    import onnx

    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_tensors(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _all_tensors(g)


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

        from eagle.anynet.limits import memory_budget_bytes
        from eagle.fileio import read_regular_file

        p = Path(path)
        if not p.is_file():
            raise EagleError(f"ONNX model {path} does not exist")
        data = read_regular_file(p, "ONNX model", MAX_ONNX_BYTES)
        try:
            proto = onnx.load_from_string(data)
        except Exception as exc:  # the protobuf error types vary by version
            raise EagleError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc})"[:300]) from None
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in _all_tensors(proto.graph)):
            raise EagleError(
                f"{path} keeps tensors in external files; Eagle reads one self-contained file: save it with "
                "onnx.save(model, path, save_as_external_data=False)"
            )
        inits = {i.name for i in proto.graph.initializer}
        inputs = [i for i in proto.graph.input if i.name not in inits]
        if len(inputs) != 1:
            raise EagleError(f"{path}: Eagle times models with one input; this one has {len(inputs)}")
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in inputs[0].type.tensor_type.shape.dim]
        if len(dims) < 2 or any(d <= 0 for d in dims[1:]):
            raise EagleError(f"{path}: its input {inputs[0].name!r} has no fixed shape ({dims}); export it with one")
        nbytes = 4
        for d in [max(dims[0], 1), *dims[1:]]:
            nbytes *= d
        budget = memory_budget_bytes()
        if budget is not None and nbytes > budget:
            raise EagleError(
                f"{path}: its input {inputs[0].name!r} of shape {dims} takes {nbytes / 2**30:.3g} GiB, more than "
                f"this machine has free ({budget / 2**30:.1f} GiB)"
            )
        return cls(data, tuple(dims[1:]), str(p))

    def forward(self, x: object) -> object:
        raise EagleError(f"{self.path} is an ONNX model: time it with --runtime onnxruntime or openvino")
