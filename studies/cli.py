"""`statphys`: run, inspect and list studies.

    statphys list                               one line per available study
    statphys run studies/<name>.toml [--profile small|full] [--out results]
                 [--process-index P --num-processes N --combine-wait S]   (a sweep shared by N processes)
    statphys status <name> [--profile ...]      finished / total chunks
    statphys paper [--out results] [--profile default|small|full] [--figures paper/figures]
                                                the paper's figures and numbers (paper/figures/results.tex)
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
            p.add_argument("--process-index", type=int, default=None,
                           help="this process's index when several share the sweep (default: $JAX_PROCESS_INDEX or 0)")
            p.add_argument("--num-processes", type=int, default=None,
                           help="number of processes sharing the sweep (default: $JAX_NUM_PROCESSES or 1)")
            p.add_argument("--combine-wait", type=float, default=0.0,
                           help="seconds process 0 waits for the others' chunks before combining (default 0)")
    p = sub.add_parser("paper", help="regenerate the paper's figures and numbers from the results")
    p.add_argument("--out", default="results", type=pathlib.Path, help="results folder (default: results)")
    p.add_argument("--profile", default="default", choices=runner.PROFILES, help="which profile's results")
    p.add_argument("--figures", default=None, type=pathlib.Path, help="figure folder (default: paper/figures)")
    args = parser.parse_args(argv)
    try:
        if args.command == "paper":
            from paper import build

            return build.main(args.out, args.profile, args.figures or build.DEFAULT_FIGURES)
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
        ds = runner.run(study, args.out, progress=not args.quiet, process_index=args.process_index,
                        num_processes=args.num_processes, combine_wait_s=args.combine_wait)
        if ds is None:
            done, total = runner.status(study, args.out)
            print(f"{study.name}: this process's chunks are done ({done}/{total} in all); not combined yet")
            return 0
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
