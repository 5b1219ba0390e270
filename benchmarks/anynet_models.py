"""The model-variant list of the any-network benchmark (issue 20): torchvision families with
width / depth / kernel / resolution variants, plus torchvision's own models at their default sizes.

    python benchmarks/anynet_models.py            # writes benchmarks/data/anynet-{variants,torchvision}.txt

Deterministic (seeded); one model spec per line, as ``eagle measure --models FILE`` reads them.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

RESOLUTIONS = tuple(range(96, 233, 8))


def _res(r: random.Random) -> int:
    return r.choice(RESOLUTIONS)


def resnet(r: random.Random) -> str:
    if r.random() < 0.6:
        layers = tuple(r.randint(1, 4) for _ in range(4))
        return f"family:resnet(layers={layers})@{_res(r)}"
    layers = tuple(r.randint(1, 4) for _ in range(4))
    groups, wpg = r.choice([(1, 16), (1, 32), (1, 64), (2, 16), (4, 8), (8, 4), (1, 96)])
    res = r.choice(RESOLUTIONS[:6])
    return f"family:resnet(block='bottleneck', layers={layers}, groups={groups}, width_per_group={wpg})@{res}"


def mobilenet_v2(r: random.Random) -> str:
    width = r.choice([0.35, 0.5, 0.75, 1.0, 1.25, 1.4])
    if r.random() < 0.5:
        return f"torchvision:MobileNetV2(width_mult={width})@{_res(r)}"
    # MobileNetV2's stages (expansion t, channels c, blocks n, stride s) with t and n varied
    stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    setting = [
        [t if i == 0 else r.choice([3, 4, 6]), c, n if i in (0, 6) else r.randint(1, 4), s]
        for i, (t, c, n, s) in enumerate(stages)
    ]
    return f"torchvision:MobileNetV2(width_mult={width}, inverted_residual_setting={setting})@{_res(r)}"


def mobilenet_v3(r: random.Random) -> str:
    name = r.choice(["mobilenet_v3_large", "mobilenet_v3_small"])
    return f"torchvision:{name}(width_mult={r.choice([0.35, 0.5, 0.75, 1.0, 1.25])})@{_res(r)}"


def mnasnet(r: random.Random) -> str:
    return f"torchvision:MNASNet(alpha={r.choice([0.35, 0.5, 0.75, 1.0, 1.3, 1.5])})@{_res(r)}"


def shufflenet_v2(r: random.Random) -> str:
    repeats = [r.randint(2, 5), r.randint(4, 9), r.randint(2, 5)]
    base = r.choice([24, 32, 48, 64, 96, 116, 176, 244])
    chans = [24, base, 2 * base, 4 * base, r.choice([512, 1024, 2048])]
    return f"torchvision:ShuffleNetV2(stages_repeats={repeats}, stages_out_channels={chans})@{_res(r)}"


def squeezenet(r: random.Random) -> str:
    return f"torchvision:SqueezeNet(version={r.choice(['1_0', '1_1'])!r})@{r.randrange(64, 321, 4)}"


def efficientnet(r: random.Random) -> str:
    w = r.choice([0.5, 0.75, 1.0, 1.1, 1.2, 1.4])
    d = r.choice([0.5, 0.75, 1.0, 1.1, 1.2, 1.4])
    return f"family:efficientnet(width_mult={w}, depth_mult={d})@{r.choice(RESOLUTIONS[:7])}"


def regnet(r: random.Random) -> str:
    depth = r.randint(6, 22)
    w0 = r.choice([16, 24, 32, 48, 64, 80])
    wa = round(r.uniform(8, 40), 2)
    wm = round(r.uniform(2.0, 2.8), 2)
    gw = r.choice([8, 16, 24, 32])
    se = r.choice(["None", "0.25"])
    return f"family:regnet(depth={depth}, w_0={w0}, w_a={wa}, w_m={wm}, group_width={gw}, se_ratio={se})@{_res(r)}"


def densenet(r: random.Random) -> str:
    growth = r.choice([8, 12, 16, 24, 32])
    blocks = tuple(r.randint(2, 12) for _ in range(4))
    init = r.choice([16, 32, 64])
    return (
        f"torchvision:DenseNet(growth_rate={growth}, block_config={blocks}, num_init_features={init})"
        f"@{r.choice(RESOLUTIONS[:7])}"
    )


def vgg(r: random.Random) -> str:
    convs = tuple(r.randint(1, 3) for _ in range(5))
    # VGG's 7x7 adaptive pooling exports to ONNX only where the last map divides 7: 224 input
    return f"family:vgg(convs={convs}, width={r.choice([8, 12, 16, 24, 32])}, fc={r.choice([256, 512, 1024])})@224"


def googlenet(r: random.Random) -> str:
    return f"torchvision:GoogLeNet(aux_logits=False, init_weights=False)@{r.randrange(64, 321, 4)}"


FAMILIES: dict[str, Callable[[random.Random], str]] = {
    "resnet": resnet,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3": mobilenet_v3,
    "mnasnet": mnasnet,
    "shufflenet_v2": shufflenet_v2,
    "squeezenet": squeezenet,
    "efficientnet": efficientnet,
    "regnet": regnet,
    "densenet": densenet,
    "vgg": vgg,
    "googlenet": googlenet,
}

#: torchvision's classification models at their default sizes (the big ones left out: minutes each here)
TORCHVISION_DEFAULTS = (
    "resnet18 resnet34 resnet50 resnext50_32x4d mobilenet_v2 mobilenet_v3_small mobilenet_v3_large "
    "mnasnet0_5 mnasnet0_75 mnasnet1_0 mnasnet1_3 shufflenet_v2_x0_5 shufflenet_v2_x1_0 shufflenet_v2_x1_5 "
    "shufflenet_v2_x2_0 squeezenet1_0 squeezenet1_1 efficientnet_b0 efficientnet_b1 efficientnet_b2 "
    "regnet_x_400mf regnet_x_800mf regnet_x_1_6gf regnet_y_400mf regnet_y_800mf regnet_y_1_6gf "
    "densenet121 vgg11_bn googlenet alexnet"
).split()


def variants(per_family: int, seed: int = 0) -> list[str]:
    out: dict[str, None] = {}
    for name, make in FAMILIES.items():
        r = random.Random(f"{seed}:{name}")
        want = per_family
        tries = 0
        before = len(out)
        while len(out) - before < want and tries < 50 * want:
            out.setdefault(make(r), None)
            tries += 1
    return list(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-family", type=int, default=160)
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "data")
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    models = variants(args.per_family)
    (args.out_dir / "anynet-variants.txt").write_text("\n".join(models) + "\n")
    defaults = [
        f"torchvision:{n}(aux_logits=False, init_weights=False)" if n == "googlenet" else f"torchvision:{n}"
        for n in TORCHVISION_DEFAULTS
    ]
    (args.out_dir / "anynet-torchvision.txt").write_text("\n".join(defaults) + "\n")
    print(f"{len(models)} variants of {len(FAMILIES)} families, {len(defaults)} torchvision defaults")


if __name__ == "__main__":
    main()
