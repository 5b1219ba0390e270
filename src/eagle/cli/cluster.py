"""``eagle cluster status``: the devices a Ray cluster offers to ``eagle measure --executor ray``."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="Ray cluster tools: 'eagle cluster status'")
    csub = p.add_subparsers(dest="cluster_command", metavar="TOOL")
    csub.required = True
    st = csub.add_parser("status", help="list the devices (device:NAME resources) of a Ray cluster")
    st.add_argument("--address", help="auto (default), HOST:PORT or ray://HOST:PORT")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from eagle.measurement.ray_executor import connect, device_resources

    ray = connect(args.address)
    try:
        devices = device_resources(ray)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps({"nodes": len(nodes), "devices": devices}, indent=1, sort_keys=True))
        return 0
    print(f"{len(nodes)} live node(s); {len(devices)} device kind(s)")
    if not devices:
        print("no devices: declare them with ray start ... --resources '{\"device:NAME\": 1}'")
    for name, d in sorted(devices.items()):
        print(f"  {name:<24} {d['available']}/{d['total']} free   on {', '.join(sorted(set(d['nodes'])))}")
    return 0
