"""`statphys`: run, inspect and list studies.

    statphys list                               one line per available study
    statphys run studies/<name>.toml [--profile small|full] [--out results]
    statphys status <name> [--profile ...]      finished / total chunks
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from . import runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="statphys", description="Statistical-physics studies of diffusion models.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the available studies")
    for name, text in (("run", "run (or resume) a study"), ("status", "what is done of a study")):
        p = sub.add_parser(name, help=text)
        p.add_argument("study", help="a study file (studies/<name>.toml) or a study name")
        p.add_argument("--profile", default="default", choices=runner.PROFILES, help="parameter profile")
        p.add_argument("--out", default="results", type=pathlib.Path, help="results folder (default: results)")
        if name == "run":
            p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for path in sorted(runner.STUDIES_DIR.glob("*.toml")):
                study = runner.load(str(path))
                print(f"{study.name:28s} [{study.kind}] {study.description}")
            return 0
        study = runner.load(args.study, args.profile)
        if args.command == "status":
            done, total = runner.status(study, args.out)
            final = runner.output_dir(study, args.out) / f"{study.name}.nc"
            state = "finished" if final.exists() and done == total else "incomplete"
            print(f"{study.name} ({study.profile}): {done}/{total} chunks done, {state}; results in {runner.output_dir(study, args.out)}")
            return 0
        ds = runner.run(study, args.out, progress=not args.quiet)
        directory = runner.output_dir(study, args.out)
        print(f"{study.name}: results {directory / (study.name + '.nc')}, figure {directory / (study.name + '.png')}")
        summary = getattr(study.module, "summary", None)
        if summary is not None:
            print(summary(ds))
        return 0
    except runner.StudyError as err:
        print(f"statphys: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
