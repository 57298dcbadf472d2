"""CLI: python -m tests.lab {up,down,list} (run from the repository root, as root)."""

from __future__ import annotations

import argparse
import json
import sys

from .lab import Lab, LabError, list_labs, reap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build a lab and leave it running")
    p_up.add_argument("--hosts", type=int, default=2)
    p_up.add_argument("--name", default=None, help="lab name (default: nl + 4 random hex digits)")
    p_up.add_argument("--workdir", default=None)
    p_down = sub.add_parser("down", help="tear a lab down by name (a glob is accepted)")
    p_down.add_argument("--name", required=True)
    sub.add_parser("list", help="list labs on this machine (JSON)")
    args = parser.parse_args(argv)

    try:
        if args.cmd == "up":
            lab = Lab(name=args.name, hosts=args.hosts, workdir=args.workdir).up()
            lab.detach()
            print(lab.inventory)
            print(json.dumps(lab.state(), indent=2))
        elif args.cmd == "down":
            names = reap(args.name)
            if not names:
                print(f"no lab matches {args.name!r}", file=sys.stderr)
                return 1
            for n in names:
                print(f"removed {n}")
        else:
            print(json.dumps(list_labs(), indent=2))
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
