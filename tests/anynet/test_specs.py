"""Model specs: parsing is exact and safe; builders are torchvision's own networks."""

from __future__ import annotations

import sys

import pytest

from eagle import spaces
from eagle.anynet import specs
from eagle.anynet.specs import parse_spec
from eagle.errors import EagleError, InvalidArchError


def n_params(spec: str) -> int:
    return sum(p.numel() for p in specs.build(spec).parameters())


def test_canonical_key_sorts_arguments_and_writes_the_shape():
    a = parse_spec("torchvision:MobileNetV2(width_mult=0.5, round_nearest=8)@160")
    b = parse_spec("MobileNetV2( round_nearest=8,width_mult=0.5 )@3x160x160")
    assert a.key == b.key == "torchvision:MobileNetV2(round_nearest=8, width_mult=0.5)@3x160x160"
    assert parse_spec("resnet18").key == "torchvision:resnet18@3x224x224"
    assert parse_spec("inception_v3").input_shape == (3, 299, 299)
    assert parse_spec("resnet18", input_shape=(3, 64, 64)).key == "torchvision:resnet18@3x64x64"
    assert parse_spec("resnet18@96", input_shape=(3, 64, 64)).input_shape == (3, 96, 96)  # the spec wins
    assert parse_spec("family:resnet(layers=[1,1,1,1])").key == "family:resnet(layers=(1, 1, 1, 1))@3x224x224"
    assert parse_spec("torchvision:resnet18").family == "resnet"
    assert parse_spec("family:efficientnet(width_mult=0.5)").family == "efficientnet"
    assert parse_spec(
        "torchvision:ShuffleNetV2(stages_repeats=[2,2,2], stages_out_channels=[8,16,32,64,128])"
    ).family == ("shufflenet_v2")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "non-empty"),
        ("torchvision:resnet18(3)", "by keyword"),
        ("torchvision:resnet18(x=__import__('os').system('true'))", "literal"),
        ("torchvision:resnet18(**{'a': 1})", "kwargs"),
        ("torchvision:resnet18@0", "sizes"),
        ("torchvision:resnet18@3x4", "RES or CxHxW"),
        ("torchvision:resnet18@abc", "cannot read"),
        ("family:nope(a=1)", "no family"),
        ("resnet 18", "cannot read"),
        ("torchvision:resnet18(a=", "cannot read"),
        ("torchvision:resnet18(a=)", "cannot read the arguments"),
    ],
)
def test_bad_specs_say_what_is_wrong(text, why):
    with pytest.raises(InvalidArchError, match=why):
        parse_spec(text)


def test_unknown_torchvision_model_and_bad_arguments_are_clear():
    with pytest.raises(InvalidArchError, match="no classification model 'resnet19'"):
        specs.build("torchvision:resnet19")
    with pytest.raises(InvalidArchError, match="unexpected keyword"):
        specs.build("torchvision:resnet18(nope=1)")
    with pytest.raises(InvalidArchError, match="layers must be 4"):
        specs.build("family:resnet(layers=(1, 1))")


def test_builders_are_torchvision_networks():
    # parameter counts published by torchvision for its builders
    assert n_params("torchvision:resnet18") == 11_689_512
    assert n_params("torchvision:mobilenet_v2") == 3_504_872
    assert n_params("torchvision:mobilenet_v3_large") == 5_483_032
    assert n_params("torchvision:mnasnet1_0") == 4_383_312
    assert n_params("torchvision:shufflenet_v2_x1_0") == 2_278_604
    assert n_params("torchvision:squeezenet1_1") == 1_235_496
    # the variant families at their defaults are the torchvision models they generalise
    assert n_params("family:resnet") == 11_689_512  # resnet18
    assert n_params("family:resnet(block='bottleneck', layers=(3, 4, 6, 3))") == 25_557_032  # resnet50
    assert n_params("family:efficientnet") == 5_288_548  # efficientnet_b0
    assert n_params("family:regnet") == 4_344_144  # regnet_y_400mf
    assert n_params("family:vgg") == 132_868_840  # vgg11_bn


def test_python_factories_run_only_when_the_user_named_them(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evilmodels.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nimport torch\n"
        "def net(width=4):\n    return torch.nn.Conv2d(3, width, 3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = "evilmodels:net(width=8)@3x16x16"
    with pytest.raises(EagleError, match="you did not allow"):
        specs.build(spec)
    assert not marker.exists()
    specs.allow_code(spec)
    model = specs.build(spec)
    assert marker.exists() and model.out_channels == 8
    sys.modules.pop("evilmodels", None)


def test_onnx_files(tmp_path):
    import torch

    path = tmp_path / "net.onnx"
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU()).eval()
    torch.onnx.export(model, (torch.randn(1, 3, 20, 20),), str(path), dynamo=False)
    s = parse_spec(str(path))
    assert s.source == "onnx" and s.key == str(path.resolve())
    assert spaces.get("models").input_shape(str(path)) == (3, 20, 20)
    macs, params = spaces.get("models").costs([str(path)])[0]
    assert macs == 8 * 18 * 18 * 3 * 9 and params == 8 * 3 * 9 + 8
    with pytest.raises(EagleError, match="does not exist"):
        specs.build(str(tmp_path / "missing.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(EagleError, match="not a readable ONNX model"):
        specs.build(str(tmp_path / "junk.onnx"))
    dyn = tmp_path / "dyn.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 20, 20),), str(dyn), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {2: "h", 3: "w"}})  # fmt: skip
    with pytest.raises(EagleError, match="no fixed shape"):
        specs.build(str(dyn))


def test_models_space_contract():
    space = spaces.get("anynet")
    assert space is spaces.get("models") and not space.enumerable
    assert spaces.spec(space) == "models"
    key = space.parse("torchvision:SqueezeNet(version='1_1')@64")
    info = space.describe(key)
    assert info["family"] == "squeezenet" and info["input_shape"] == [3, 64, 64] and info["params"] == 1_235_496
    with pytest.raises(EagleError, match="no distribution"):
        space.sample(3, None)
    with pytest.raises(EagleError, match="kernel by kernel"):
        space.encode([key])
