"""`statphys`: run, inspect and list studies; build the paper.

    statphys list                               one line per available study, with expected run times
    statphys run studies/<name>.toml [--profile small|full] [--out results]
                 [--process-index P --num-processes N --combine-wait S]   (a sweep shared by N processes)
    statphys status <name> [--profile ...] [--stages]
                                                finished / total chunks; the finished stages of an
                                                unfinished chunk with their wall times (all with --stages)
    statphys paper [--out results] [--profile ...] [--figures paper/figures] [--allow-missing] [--pdf]
                                                the paper's figures and numbers (paper/figures/results.tex)
    statphys reproduce [--profile small] [--out results] [--no-pdf]
                                                every study of the paper (finished chunks reused), every
                                                figure, the numbers and paper/paper.pdf

This module is the one place that calls both the studies (studies/) and the paper (paper/).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

from . import compilation, runner, study_file


def draw_figure(study: runner.Study, ds, path: pathlib.Path) -> None:
    """The study's figure as <path>.png and .pdf (paper/plots/<kind>.py)."""
    from statphys.paper import drawing

    drawing.draw(ds, path.parent, path.name)


def _summary(ds):
    from statphys.paper import plots

    return plots.summary(ds.attrs.get("kind"), ds)


def _paper(out: pathlib.Path, profile: str, figures: pathlib.Path | None, allow_missing: bool, pdf: bool,
           drawn: dict[str, pathlib.Path] | None = None) -> int:
    from statphys.paper import build, registry

    figures = figures or registry.DEFAULT_FIGURES
    pdf = pdf and figures.resolve() == registry.DEFAULT_FIGURES.resolve()  # paper.tex reads paper/figures
    return build.main(out, profile, figures, allow_missing=allow_missing, pdf=pdf,
                      studies={p.stem for p in study_file.STUDIES_DIR.glob("*.toml")},
                      summarize=_summary, drawn=drawn)


def reproduce(profile: str, out: pathlib.Path, pdf: bool = True, progress: bool = True) -> int:
    """Run every study of the paper (reusing finished chunks) and draw its figure, then `paper` with the PDF (the
    figures just drawn copied, not drawn again)."""
    from statphys.paper import registry

    names = list(dict.fromkeys(figure.study for figure in registry.FIGURES))
    studies = [runner.load(name, profile) for name in names]  # every file validated before any compute
    drawn = {}
    for i, study in enumerate(studies, 1):
        started = time.time()
        expected = study.expected_runtime()
        print(f"[{i}/{len(studies)}] {study.name} ({profile}" + (f", expected {expected}" if expected else "") + ")",
              file=sys.stderr, flush=True)
        ds = runner.run(study, out, progress=progress)
        drawn[study.name] = runner.output_dir(study, out) / study.name
        draw_figure(study, ds, drawn[study.name])
        print(f"[{i}/{len(studies)}] {study.name}: done in {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return _paper(out, profile, None, allow_missing=False, pdf=pdf, drawn=drawn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="statphys", description="Statistical-physics studies of diffusion models.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the available studies")
    for name, text in (("run", "run (or resume) a study"), ("status", "what is done of a study")):
        p = sub.add_parser(name, help=text)
        p.add_argument("study", help="a study file (studies/<name>.toml) or a study name")
        p.add_argument("--profile", default="default", choices=study_file.PROFILES, help="parameter profile")
        p.add_argument("--out", default="results", type=pathlib.Path, help="results folder (default: results)")
        if name == "run":
            p.add_argument("--quiet", action="store_true", help="no progress bar")
            p.add_argument("--process-index", type=int, default=None,
                           help="this process's index when several share the sweep (default: $JAX_PROCESS_INDEX or 0)")
            p.add_argument("--num-processes", type=int, default=None,
                           help="number of processes sharing the sweep (default: $JAX_NUM_PROCESSES or 1)")
            p.add_argument("--combine-wait", type=float, default=0.0,
                           help="seconds process 0 waits for the others' chunks before combining (default 0)")
        else:
            p.add_argument("--stages", action="store_true",
                           help="list every finished stage of the unfinished chunks with its wall time")
    p = sub.add_parser("paper", help="regenerate the paper's figures and numbers from the results")
    p.add_argument("--out", default="results", type=pathlib.Path, help="results folder (default: results)")
    p.add_argument("--profile", default="default", choices=study_file.PROFILES, help="which profile's results")
    p.add_argument("--figures", default=None, type=pathlib.Path, help="figure folder (default: paper/figures)")
    p.add_argument("--allow-missing", action="store_true", help="exit 0 even when some studies have no results")
    p.add_argument("--pdf", action="store_true", help="also compile paper/paper.pdf (needs LaTeX)")
    p = sub.add_parser("reproduce", help="run every study of the paper, then its figures, numbers and PDF")
    p.add_argument("--out", default="results", type=pathlib.Path, help="results folder (default: results)")
    p.add_argument("--profile", default="small", choices=study_file.PROFILES, help="parameter profile (default: small)")
    p.add_argument("--no-pdf", action="store_true", help="stop after the figures and numbers")
    p.add_argument("--quiet", action="store_true", help="no progress bars within studies")
    args = parser.parse_args(argv)
    try:
        if args.command in ("run", "reproduce"):
            compilation.enable_compilation_cache()
        if args.command == "paper":
            return _paper(args.out, args.profile, args.figures, args.allow_missing, args.pdf)
        if args.command == "reproduce":
            return reproduce(args.profile, args.out, pdf=not args.no_pdf, progress=not args.quiet)
        if args.command == "list":
            for path in sorted(study_file.STUDIES_DIR.glob("*.toml")):
                study = runner.load(str(path))
                times = study.runtimes_text()
                print(f"{study.name:28s} [{study.kind}] {study.description}" + (f"  ({times})" if times else ""))
            return 0
        study = runner.load(args.study, args.profile)
        if args.command == "status":
            done, total = runner.status(study, args.out)
            final = runner.output_dir(study, args.out) / f"{study.name}.nc"
            state = "finished" if final.exists() and done == total else "incomplete"
            print(f"{study.name} ({study.profile}): {done}/{total} chunks done, {state}; results in {runner.output_dir(study, args.out)}")
            for index, stages in runner.unfinished_stages(study, args.out).items():
                name, seconds = stages[-1]
                print(f"  chunk {index + 1}/{total}: {len(stages)} stages finished, {sum(s for _, s in stages):.1f} s "
                      f"of compute; last {name!r} ({seconds:.1f} s)")
                for name, seconds in stages if args.stages else ():
                    print(f"    {seconds:9.1f} s  {name}")
            return 0
        ds = runner.run(study, args.out, progress=not args.quiet, process_index=args.process_index,
                        num_processes=args.num_processes, combine_wait_s=args.combine_wait)
        if ds is None:
            done, total = runner.status(study, args.out)
            print(f"{study.name}: this process's chunks are done ({done}/{total} in all); not combined yet")
            return 0
        directory = runner.output_dir(study, args.out)
        draw_figure(study, ds, directory / study.name)
        print(f"{study.name}: results {directory / (study.name + '.nc')}, figure {directory / (study.name + '.png')}")
        summary = _summary(ds)
        if summary is not None:
            print(summary)
        return 0
    except (study_file.StudyError, compilation.CacheDirectoryError) as err:
        print(f"statphys: error: {err}", file=sys.stderr)
        return 2


def entry_point() -> None:
    """Console script: main() with a quiet exit when the output pipe closes early (`statphys list | head`)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
