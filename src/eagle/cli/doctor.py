"""``eagle doctor``: is this machine fit to time networks on, and what should change?"""

from __future__ import annotations

import argparse
import json

from eagle.cli.argtypes import seconds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check this machine for timing (governor, turbo, SMT, load, steal, throttling, per-core noise)",
        description="Check this machine before measuring: CPU frequency governor, turbo/boost, SMT siblings, "
        "load and the processes using the CPU, hypervisor steal, thermal throttling, and how steady each core "
        "is under a fixed workload. Each finding says what to change. Exit status 0 either way.",
    )
    p.add_argument("--pin", help="check these cores only (as 'eagle measure --pin'), e.g. 1 or 0,1")
    p.add_argument("--seconds", type=seconds(high=60.0), default=1.0, help="seconds of workload per core (default 1)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from eagle.measurement.config import parse_pin
    from eagle.measurement.doctor import diagnose

    pin = list(parse_pin(args.pin)) if args.pin else None
    report = diagnose(pin=pin, seconds=args.seconds)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0
    width = max(len(f.check) for f in report.findings)
    for f in report.findings:
        print(f"{f.status.upper():<4}  {f.check:<{width}}  {f.seen}")
        if f.advice:
            print(f"{'':<4}  {'':<{width}}  -> {f.advice}")
    warnings = sum(f.status == "warn" for f in report.findings)
    print(
        f"\n{warnings} thing(s) to look at" if warnings else "\nnothing to change",
        "(Eagle measures interleaved and corrects the machine's drift either way; see README: Measuring latency)",
    )
    return 0
