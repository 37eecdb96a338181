"""`statphys paper`: regenerate the paper's headline figures and its numbers from the studies' results.

For every headline figure (paper.registry.FIGURES: one per result of the paper), the study's combined dataset
<out>/<study>/<profile>/<study>.nc is loaded and the figure is drawn again by the study kind's plot() into
<figures>/<name>.png and <name>.pdf (paper.drawing). A figure whose results are missing is reported with the
command that makes them and the build goes on. <figures>/results.tex gets every number the paper states, with
its error bar, read from the datasets (paper.numbers, written by paper.results_tex); with --pdf, paper.pdf is
compiled and checked (paper.pdf's compile_pdf). `statphys reproduce`, which has just drawn every study's figure
from the same results, hands them over (``drawn``): they are copied, not drawn a second time.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sys
from typing import Callable, Mapping

from .drawing import draw
from .formatting import finite
from .numbers import kind_summary
from .pdf import compile_pdf
from .registry import DEFAULT_FIGURES, FIGURES, PAPER_DIR, Figure
from .results_tex import write_results_tex


@dataclasses.dataclass
class Row:
    figure: str
    study: str
    status: str  # made | missing | no study | failed
    wall_time_s: float | None = None
    command: str = ""
    message: str = ""


def run_command(study: str, profile: str, out) -> str:
    """The `statphys run` command that makes a study's results in out."""
    command = f"statphys run studies/{study}.toml --profile {profile}"
    if pathlib.Path(out) != pathlib.Path("results"):
        command += f" --out {out}"
    return command


def build(out="results", profile: str = "default", figures_dir=DEFAULT_FIGURES,
          figures: tuple[Figure, ...] = FIGURES, echo: Callable[[str], None] = print, *,
          studies: set[str] | None = None, summarize: Callable | None = None,
          drawn: Mapping[str, pathlib.Path] | None = None) -> list[Row]:
    """Regenerate every available headline figure and results.tex; one Row per figure.

    studies: the names of the study files that exist (a figure whose study is absent is reported as such);
    summarize(ds) -> mapping or text: a study kind's extra numbers for results.tex;
    drawn: study -> <path> of its figure (<path>.png and .pdf) drawn in this process from its current results by
    the same plot (`statphys reproduce`): copied instead of drawn again."""
    import xarray as xr

    out, figures_dir = pathlib.Path(out), pathlib.Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    rows, entries = [], []
    for figure in figures:
        command = run_command(figure.study, profile, out)
        row = Row(figure.name, figure.study, "missing", command=command)
        entry = {"figure": figure, "study": figure.study, "status": "missing", "command": command}
        has_study = studies is None or figure.study in studies
        nc = out / figure.study / profile / f"{figure.study}.nc"
        if not nc.exists():
            if has_study:
                row.message = f"results missing ({nc}): run `{command}`"
            else:
                row.status = "no study"
                row.message = f"no study file studies/{figure.study}.toml in this version (then run `{command}`)"
            echo(f"{figure.name}: {row.message}")
        else:
            try:
                ds = xr.load_dataset(nc, engine="h5netcdf")
                row.wall_time_s = float(ds.attrs["wall_time_s"]) if finite(ds.attrs.get("wall_time_s")) else None
                if drawn is not None and figure.study in drawn:
                    _copy_figure(pathlib.Path(drawn[figure.study]), figures_dir / figure.name)
                else:
                    draw(ds, figures_dir, figure.name)
                row.status = "made"
                row.message = f"{figures_dir / figure.name}.pdf/.png"
                entry.update(status="made", ds=ds, summary=kind_summary(summarize, ds))
            except Exception as err:  # one broken figure must not stop the others
                row.status = "failed"
                row.message = f"{type(err).__name__}: {err}"
                entry["status"] = "failed"
                echo(f"{figure.name}: failed: {row.message}")
        rows.append(row)
        entries.append(entry)
    write_results_tex(figures_dir / "results.tex", entries, out, profile, figures_dir)
    echo(table(rows))
    echo(f"numbers for the paper: {figures_dir / 'results.tex'}")
    return rows


def _copy_figure(source: pathlib.Path, target: pathlib.Path) -> None:
    """<source>.png and .pdf copied to <target>.png and .pdf."""
    for suffix in (".png", ".pdf"):
        shutil.copyfile(source.with_suffix(suffix), target.with_suffix(suffix))


def table(rows: list[Row]) -> str:
    """The build's report: one line per figure (status, run time of its study, the command when missing)."""
    lines = [f"{'figure':26s} {'study':26s} {'status':9s} {'run time':>10s}  note",
             f"{'-' * 26} {'-' * 26} {'-' * 9} {'-' * 10}  {'-' * 4}"]
    for r in rows:
        time = f"{r.wall_time_s:.1f} s" if r.wall_time_s is not None else "-"
        note = r.message if r.status in ("failed",) else (r.command if r.status != "made" else "")
        lines.append(f"{r.figure:26s} {r.study:26s} {r.status:9s} {time:>10s}  {note}")
    made = sum(r.status == "made" for r in rows)
    lines.append(f"{made}/{len(rows)} figures made")
    return "\n".join(lines)


def main(out="results", profile: str = "default", figures_dir=DEFAULT_FIGURES, *, allow_missing: bool = False,
         pdf: bool = False, **kwargs) -> int:
    """Exit status 0 when every figure was made (or, with allow_missing, every figure whose results exist) and,
    with pdf, the PDF compiled without problems; 1 otherwise, with what is missing named."""
    rows = build(out, profile, figures_dir, **kwargs)
    failed = [r for r in rows if r.status == "failed"]
    missing = [r for r in rows if r.status in ("missing", "no study")]
    if missing and not allow_missing:
        print(f"statphys paper: {len(missing)} figure(s) without results: " + ", ".join(r.figure for r in missing)
              + f". Run `statphys reproduce --profile {profile}` (or pass --allow-missing)", file=sys.stderr)
    if pdf and not failed and (not missing or allow_missing):
        problems = compile_pdf(PAPER_DIR)
        for problem in problems:
            print(f"statphys paper: {problem}", file=sys.stderr)
        if problems:
            return 1
    return 1 if failed or (missing and not allow_missing) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
