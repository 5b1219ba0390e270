"""Search spaces, by name: ``eagle.spaces.get("nasbench201")``.

A space is a :class:`~eagle.spaces.base.SearchSpace`. Three ways to make one known:

* built in (registered below);
* an installed package that declares an entry point in the ``eagle.spaces`` group
  (``toy = "mypkg.spaces:ToySpace"``), found on first lookup;
* :func:`register` at run time (a class, or ``"module:Class"``).

``get("module:Class")`` also imports a space by its path: that is how a measurement worker in
another process (or on another host) rebuilds the space it was given (:func:`spec`). Importing
runs the module's code, so a path that comes from a file (a checkpoint, a dataset, a results
store) is imported only when that module is already loaded or the path was allowed by the user:
given as ``--space`` or ``space=``, or passed to :func:`allow`. A hostile file cannot make Eagle
import a module of its choosing.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache

from eagle.errors import UnknownNameError
from eagle.registry import Registry
from eagle.spaces.base import Encoded, SearchSpace
from eagle.spaces.nasbench201 import NASBench201

SPACES: Registry[type[SearchSpace] | str] = Registry("search space")
SPACES.add("nasbench201", NASBench201)
SPACES.add("fbnet", "eagle.spaces.fbnet:FBNet")
SPACES.add("ofa-mbv3", "eagle.spaces.ofa:OFAMobileNetV3")
SPACES.add("models", "eagle.anynet.space:ModelsSpace")  # any network, by model spec
#: names every process knows (built in, or from an entry point): :func:`spec` may use them
_PORTABLE: set[str] = {"nasbench201", "fbnet", "ofa-mbv3", "models"}
#: other names users type for a space
ALIASES: dict[str, str] = {"nb201": "nasbench201", "ofa": "ofa-mbv3", "anynet": "models"}

__all__ = ["ALIASES", "SPACES", "Encoded", "SearchSpace", "allow", "get", "names", "register", "resolve", "spec"]


@cache
def _entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="eagle.spaces"):
        if ep.name not in SPACES:
            SPACES.add(ep.name, ep.value)
            _PORTABLE.add(ep.name)


#: "module:Class" paths the user asked for in this process (``--space``, ``space=``, :func:`allow`)
_ALLOWED: set[str] = set()


def allow(path: str | SearchSpace | None) -> None:
    """Let :func:`get` import the space at ``path`` ("module:Class"): the user named it."""
    if isinstance(path, str) and ":" in path:
        _ALLOWED.add(path)


def register(name: str, space: type[SearchSpace] | str) -> None:
    """Make ``space`` (a class or ``"module:Class"``) known as ``name``."""
    SPACES.add(name, space)


def _load(target: type[SearchSpace] | str) -> type[SearchSpace]:
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownNameError(f"cannot import search space {target!r}: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, SearchSpace)):
            raise UnknownNameError(f"{target!r} is not a SearchSpace class")
        return cls
    return target


@cache
def _instance(name: str) -> SearchSpace:
    if ":" in name:
        module = name.partition(":")[0]
        if name not in _ALLOWED and module not in sys.modules:
            raise UnknownNameError(
                f"search space {name!r} is not registered and its module is not loaded; Eagle imports a space "
                "from a module only when you name it (--space module:Class, space=..., eagle.spaces.allow) "
                "or register it (eagle.spaces.register, an 'eagle.spaces' entry point)"
            )
        return _load(name)()
    _entry_points()
    return _load(SPACES.get(name))()


def get(name: str | SearchSpace) -> SearchSpace:
    """The search space registered as ``name`` (or given as ``"module:Class"``); instances pass through."""
    if isinstance(name, SearchSpace):
        return name
    return _instance(ALIASES.get(str(name), str(name)))  # one instance per space, whatever it is called


def resolve(space: str | SearchSpace | None) -> SearchSpace:
    """``space`` as an instance; None means NB201 (the default space everywhere)."""
    return get("nasbench201" if space is None else space)


def names() -> list[str]:
    """Registered search-space names."""
    _entry_points()
    return SPACES.names()


def spec(space: SearchSpace) -> str:
    """A string :func:`get` turns back into ``space`` in any process: its name when it is built in or
    comes from an entry point, else ``"module:Class"`` (a run-time registration lives in one process)."""
    _entry_points()
    if space.name in _PORTABLE and _load(SPACES.get(space.name)) is type(space):
        return space.name
    return f"{type(space).__module__}:{type(space).__qualname__}"
