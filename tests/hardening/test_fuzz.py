"""#17 acceptance: property-based fuzzing of every kind of input Eagle reads.

For each input kind (arch strings, pickles, CSV, YAML configs, checkpoints, command-line values)
hypothesis generates valid, near-valid and hostile inputs; whatever comes in, Eagle either
succeeds or fails cleanly: exit 1 or 2, one line on stderr, no traceback and no "internal
error", the output file untouched, and no payload executed (no marker file).
``EAGLE_FUZZ_EXAMPLES`` sets the examples per test (``benchmarks/fuzz_bench.py`` raises it).
"""

from __future__ import annotations

import json
import math
import pickle
import string
from pathlib import Path

import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eagle.errors import EagleError, InvalidArchError
from eagle.spaces import get
from tests.conftest import Exploit
from tests.hardening.conftest import FUZZ_EXAMPLES, Outcome, assert_clean_failure, digest, run_cli

SPACE = get("nasbench201")
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SENTINEL = b"sentinel: an earlier output that a failed command must leave alone\n"


def check(res: Outcome, out: Path | None = None, marker: Path | None = None) -> None:
    """The fuzzing oracle: success, or a clean failure that changed nothing."""
    if res.code != 0:
        assert_clean_failure(res)
        if out is not None:
            assert out.read_bytes() == SENTINEL, "a failed command changed its output file"
    else:
        assert "Traceback" not in res.err and "internal error" not in res.err, res.err
    if marker is not None:
        assert not marker.exists(), "a payload was executed"


# -- arch strings ------------------------------------------------------------------------------------
def _cell(draw_op, draw_src):
    return st.tuples(*(st.tuples(draw_op, draw_src) for _ in range(6))).map(
        lambda e: "|{}~{}|+|{}~{}|{}~{}|+|{}~{}|{}~{}|{}~{}|".format(*(x for pair in e for x in pair))
    )


ARCH_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="|+~0123456789_,()[] -" + string.ascii_lowercase, max_size=120),
    _cell(st.sampled_from(OPS), st.sampled_from(["0", "1", "2"])),
    _cell(st.sampled_from([*OPS, "conv", "", "NONE"]), st.text(alphabet="0123-x²٣", max_size=3)),
    st.integers(-(10**6), 10**6).map(str),
    st.lists(st.integers(-3, 10**5), max_size=8).map(str),
    st.just("9" * 5000),
)


@FUZZ
@given(text=ARCH_TEXT)
def test_fuzz_arch_strings(text):
    try:
        idx = SPACE.index(text)
    except InvalidArchError as exc:
        assert str(exc) and len(str(exc)) < 2000
    else:
        assert 0 <= idx < SPACE.num_archs


@FUZZ
@given(text=ARCH_TEXT.filter(lambda t: not t.startswith("-") and "\0" not in t))
def test_fuzz_arch_show_cli(text, capsys):
    check(run_cli(capsys, "arch", "show", text))


# -- pickles -----------------------------------------------------------------------------------------
_ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.binary(max_size=10),
    st.tuples(*[st.integers(-1, 6)] * 6),
)
_VALUES = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.tuples(inner, inner),
        st.dictionaries(
            st.one_of(st.tuples(*[st.integers(0, 5)] * 6), st.text(max_size=5), st.integers()), inner, max_size=6
        ),
    ),
    max_leaves=30,
)


@FUZZ
@given(
    data=_VALUES,
    protocol=st.integers(0, pickle.HIGHEST_PROTOCOL),
    payload=st.booleans(),
    fmt=st.sampled_from(["eagle", "hwnasbench"]),
    cut=st.one_of(st.none(), st.integers(0, 200)),
)
def test_fuzz_pickles(data, protocol, payload, fmt, cut, tmp_path, capsys):
    marker = tmp_path / "pwned"
    marker.unlink(missing_ok=True)
    if payload:
        data = {"x": data, (3, 3, 3, 3, 3, 3): Exploit(marker)}
    blob = pickle.dumps(data, protocol=protocol)
    if cut is not None:
        blob = blob[:cut]  # truncated or damaged files
    path = tmp_path / "in.pickle"
    path.write_bytes(blob)
    check(run_cli(capsys, "dataset", "import", path, "--format", fmt, "--name", "fuzz", "--force"), marker=marker)
    out = tmp_path / "out.pickle"
    out.write_bytes(SENTINEL)
    check(run_cli(capsys, "measure", "stats", path, "--output", out), out=out, marker=marker)


# -- CSV ---------------------------------------------------------------------------------------------
_FIELD = st.one_of(
    st.integers(-5, 20000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=string.printable + "²é\u2028", max_size=12),
    st.sampled_from(["|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "(3, 3, 3, 3, 3, 3)", "", '"a,b"']),
)
_HEADER = st.lists(
    st.sampled_from(
        ["nb201_index", "arch_str", "arch_vector", "latency_s", "latency_ms", "latency_fortnights", "value", "x"]
    ),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(header=_HEADER, rows=st.lists(st.lists(_FIELD, min_size=0, max_size=5), max_size=12), bom=st.booleans())
def test_fuzz_csv(header, rows, bom, tmp_path, capsys):
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path = tmp_path / "in.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogatepass"))
    check(run_cli(capsys, "dataset", "import", path, "--format", "csv", "--name", "fuzz", "--force"))


# -- YAML configs ------------------------------------------------------------------------------------
_YAML_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-5, 100), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_MEASURE_KEYS = {
    "device": ["device_addr", "device_user", "device_port", "separate_process", "spawn_server", "target_args", "zz"],
    "model": ["cells_count", "stacks_count", "input_size", "data_format", "num_classes", "zz"],
    "eagle": ["runtime", "protocol", "zz"],
}
_PREDICTOR_KEYS = {
    "predictor": ["type", "num_layers", "num_hidden", "dropout_ratio", "weight_init"],
    "training": ["batch_size", "epochs", "learning_rate", "weight_decay", "es_patience", "lr_patience"],
    "dataset": ["training_points", "validation_points", "sampling_seed"],
    "eagle": ["preset", "overrides"],
}


def _config(keys):
    section = lambda names: st.dictionaries(st.sampled_from(names), _YAML_VALUES, max_size=4)  # noqa: E731
    return st.one_of(
        st.fixed_dictionaries({}, optional={k: st.one_of(section(v), _YAML_VALUES) for k, v in keys.items()}),
        _YAML_VALUES,
        st.text(max_size=40),
    )


def _yaml_file(tmp_path, data, raw_text=False):
    path = tmp_path / "cfg.yaml"
    if raw_text and isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(yaml.safe_dump(data))
    return path


def _sweep_args(**kw):
    base = dict(
        runtime="null", device="local", archs="2", seed=0, threads=1, precision=None, runtime_device=None,
        runtime_option=[], no_dedupe=False, warmup=None, runs=None, avg_between=None, interval=None,
        min_round=None, batch_size=None, timeout=300.0, pin=None, limit=None, retry_failed=False,
        db=Path("x.sqlite"), order="index", executor="local", address=None, ray_actors=None,
    )  # fmt: skip
    base.update(kw)
    from eagle.measurement.config import MeasureOptions

    return MeasureOptions.from_mapping(base)


@FUZZ
@given(data=_config(_MEASURE_KEYS), raw=st.booleans())
def test_fuzz_measurement_yaml(data, raw, tmp_path):
    from eagle.measurement.config import load_yaml, sweep_config

    path = _yaml_file(tmp_path, data, raw)
    try:
        sweep_config(_sweep_args(), load_yaml(path))
    except EagleError as exc:
        assert str(exc) and "\n" not in " ".join(str(exc).split())


@FUZZ
@given(data=_config(_PREDICTOR_KEYS), raw=st.booleans(), kind=st.sampled_from(["gcn", "mlp"]))
def test_fuzz_predictor_yaml(data, raw, kind, tmp_path):
    from eagle.predictors.neural import NeuralPredictor
    from eagle.predictors.seedcfg import read_predictor_yaml

    path = _yaml_file(tmp_path, data, raw)
    try:
        cfg = read_predictor_yaml(path)
        NeuralPredictor(kind, preset=cfg["preset"], **cfg["overrides"])
    except EagleError as exc:
        assert str(exc)


# -- checkpoints -------------------------------------------------------------------------------------
_CKPT_KEYS = ["kind", "preset", "seed", "config", "target_mean", "target_std", "params", "prior_devices", "trained_on"]
_TENSORS = st.dictionaries(
    st.sampled_from(["fitted", "m0.layers.0.weight", "prior_features", "op_cost_feature", "x"]),
    st.tuples(st.integers(0, 4), st.integers(0, 3), st.sampled_from([0.0, 1.0, math.nan])).map(
        lambda t: torch.full((t[0], t[1]), t[2]) if t[1] else torch.full((t[0],), t[2])
    ),
    max_size=3,
)


@FUZZ
@given(
    config=st.one_of(
        st.dictionaries(
            st.sampled_from(_CKPT_KEYS),
            st.one_of(_YAML_VALUES, st.sampled_from(["gcn", "mlp", "lut", "flops", "fewshot", "fewshot-base"])),
            max_size=6,
        ),
        _YAML_VALUES,
    ),
    tensors=st.one_of(_TENSORS, _YAML_VALUES),
    raw_header=st.one_of(st.none(), st.text(max_size=20)),
)
def test_fuzz_checkpoints(config, tensors, raw_header, tmp_path, capsys):
    header = raw_header if raw_header is not None else json.dumps(config, default=str)
    path = tmp_path / "m.pt"
    torch.save({"format": "eagle-predictor", "config": header, "tensors": tensors}, path)
    out = tmp_path / "pred.csv"
    out.write_bytes(SENTINEL)
    check(run_cli(capsys, "predict", "--load", path, "--output", out), out=out)


# -- command-line values -----------------------------------------------------------------------------
_CLI_VALUE = st.one_of(
    st.text(alphabet=string.printable, max_size=12),
    st.sampled_from(["-1", "0", "nan", "inf", "-inf", "1e999", "99999999999999", "abc", "", "²", "0x10", "1.5"]),
    st.integers(-(10**6), 10**6).map(str),
)
_PARSE_ONLY = [
    ("train", "--training-points", ["--measurement", "help/pixel3", "--save", "m.pt"]),
    ("train", "--seed", ["--measurement", "help/pixel3", "--save", "m.pt"]),
    ("search", "--budget", ["--output", "t.txt"]),
    ("search", "--latency-limit", ["--output", "t.txt"]),
    ("search", "--ensemble", ["--output", "t.txt"]),
    ("search", "--seeds", ["simulate"]),
    ("pretrain", "--rank", ["--save", "b.pt"]),
    ("select", "--k", ["--base", "b.pt"]),
    ("measure", "--timeout", []),
    ("measure", "--threads", []),
    ("measure", "--interval", []),
    ("measure", "--runs", []),
    ("measure", "--pin", []),
    ("measure", "--device", []),
    ("measure", "--runtime-option", []),
    ("measure", "--archs", []),
]


@FUZZ
@given(case=st.sampled_from(_PARSE_ONLY), value=_CLI_VALUE)
def test_fuzz_cli_values(case, value, capsys, tmp_path, monkeypatch):
    """Every numeric, device and option value: parsed and validated as the command would, before it runs."""
    from eagle.cli.main import build_parser

    monkeypatch.chdir(tmp_path)
    command, option, rest = case
    parser = build_parser()
    try:
        args = parser.parse_args([command, *rest, f"{option}={value}"])
    except SystemExit as exc:
        assert exc.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        return
    if command == "measure":
        from eagle.cli.measure import sweep_config_from_args

        try:
            cfg = sweep_config_from_args(args, None)
            from eagle.measurement.runner import plan

            plan(cfg)
        except EagleError as exc:
            assert str(exc)


@FUZZ
@given(
    command=st.sampled_from(
        [
            ["dataset", "info", "{v}"],
            ["dataset", "export", "{v}", "--format", "csv", "--output", "{out}"],
            ["measure", "export", "--db", "{v}", "--format", "csv", "--output", "{out}"],
            ["predict", "--load", "{v}", "--output", "{out}"],
            ["measure", "stats", "{v}", "--output", "{out}"],
        ]
    ),
    value=st.one_of(_CLI_VALUE, st.sampled_from(["/dev/zero", "/dev/null", "/", ".", "/proc/self/mem", "help/zz"])),
)
def test_fuzz_file_arguments(command, value, tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_bytes(SENTINEL)
    if value.startswith("-") or "\0" in value:
        value = "./" + value
    res = run_cli(capsys, *(a.format(v=value, out=out) for a in command))
    check(res, out=out if res.code else None)
    assert digest(out) is not None
