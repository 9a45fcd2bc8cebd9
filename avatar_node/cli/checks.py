"""``avatar-node doctor`` (every check ``run`` depends on) and ``avatar-node schema``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK
from ..log import quiet
from .serve import load


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..doctor import run_checks

    settings = load(args)
    ok = True
    with quiet():  # the check lines are the report: the loaders' own logs would repeat them
        for check in run_checks(
            settings, voices=not args.skip_voices, avatars=not args.skip_avatars
        ):
            ok = ok and check.ok
            print(check.line(), flush=True)
    print("all checks passed" if ok else "some checks FAILED (see the FAIL lines)")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_schema(args: argparse.Namespace) -> int:
    from ..wire.schema import write

    for path in write(Path(args.out)):
        print(path)
    return EXIT_OK
