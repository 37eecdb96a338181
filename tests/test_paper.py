"""`statphys paper`: figures regenerated from stored results, missing ones reported, numbers in results.tex."""

import re

import pytest
import xarray as xr

from statphys.paper import build, formatting, numbers, registry
from statphys.studies import cli

CHEAP = ("curie_weiss_generation", "speed_accuracy")  # small profiles: ~25 s and ~10 s on one CPU core


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Run the two cheap studies' small profiles through the CLI, then `statphys paper` on them."""
    tmp = tmp_path_factory.mktemp("paper")
    out, figs = tmp / "results", tmp / "figs"
    for name in CHEAP:
        assert cli.main(["run", f"studies/{name}.toml", "--profile", "small", "--out", str(out), "--quiet"]) == 0
    return out, figs


def test_paper_regenerates_available_figures_and_reports_missing(built, capsys):
    out, figs = built
    capsys.readouterr()
    code = cli.main(["paper", "--out", str(out), "--profile", "small", "--figures", str(figs)])
    captured = capsys.readouterr()
    assert code == 1  # most studies have no results: an error unless asked to allow it
    assert "without results" in captured.err and "statphys reproduce --profile small" in captured.err
    code = cli.main(["paper", "--out", str(out), "--profile", "small", "--figures", str(figs), "--allow-missing"])
    printed = capsys.readouterr().out
    assert code == 0
    for name in CHEAP:
        for suffix in (".pdf", ".png"):
            path = figs / f"{name}{suffix}"
            assert path.exists() and path.stat().st_size > 1000, path
        assert re.search(rf"^{name}\s+{name}\s+made\s+[\d.]+ s", printed, re.M), printed
    # every other headline figure is reported with the command that makes its results
    for figure in registry.FIGURES:
        if figure.name not in CHEAP:
            assert f"statphys run studies/{figure.study}.toml --profile small --out {out}" in printed
            assert not (figs / f"{figure.name}.pdf").exists()
    assert f"{len(CHEAP)}/{len(registry.FIGURES)} figures made" in printed

    tex = (figs / "results.tex").read_text()
    cw = xr.load_dataset(out / "curie_weiss_generation" / "small" / "curie_weiss_generation.nc", engine="h5netcdf")
    for sampler in cw["sampler"].values:
        s = cw.sel(sampler=sampler)
        number = formatting.format_number(float(s.tv), float(s.tv_err))
        assert "\\pm" in number
        assert f"statres@curie_weiss_generation/tv[sampler={sampler}]\\endcsname{{{number}}}" in tex
    sde = cw.sel(sampler="euler_maruyama")
    assert f"stathl@curie_weiss_generation.tv_sde\\endcsname{{{formatting.format_number(float(sde.tv), float(sde.tv_err))}}}" in tex
    sa = xr.load_dataset(out / "speed_accuracy" / "small" / "speed_accuracy.nc", engine="h5netcdf")
    number = formatting.format_number(float(sa.delta_w1_samples), float(sa.delta_w1_samples_err))
    assert f"stathl@speed_accuracy.dw1_samples\\endcsname{{{number}}}" in tex
    assert f"statinfo@speed_accuracy/wall_time_s\\endcsname{{{float(sa.attrs['wall_time_s']):.1f}}}" in tex
    assert "statavail@speed_accuracy" in tex and "statavail@sampler_convergence" not in tex
    # the manuscript only refers to headline numbers that the figure list defines
    paper = (registry.PAPER_DIR / "paper.tex").read_text()
    defined = {f"{f.name}.{h.label}" for f in registry.FIGURES for h in f.headlines}
    used = set(re.findall(r"\\headline\{([^}]+)\}", paper))
    assert used and used <= defined, used - defined
    assert {f.name for f in registry.FIGURES} <= set(re.findall(r"\\headlinefigure\{([^}]+)\}", paper))


def test_paper_without_any_results_fails_unless_allowed(tmp_path, capsys):
    args = ["paper", "--out", str(tmp_path / "none"), "--profile", "small", "--figures", str(tmp_path / "f")]
    assert cli.main(args) == 1
    assert "curie_weiss_generation" in capsys.readouterr().err
    code = cli.main(args + ["--allow-missing"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "0/" in printed and "statphys run studies/curie_weiss_generation.toml --profile small" in printed
    assert (tmp_path / "f" / "results.tex").exists()


def test_figures_drawn_by_reproduce_are_copied_not_drawn_again(built, tmp_path, monkeypatch):
    """`statphys reproduce` hands the figures it drew after each study to the paper build: copied byte for byte,
    the plot not called again; a figure not handed over is drawn."""
    out, _ = built

    def no_second_drawing(ds, figures_dir, name):
        raise AssertionError(f"{name} drawn again")

    monkeypatch.setattr(build, "draw", no_second_drawing)
    drawn = {name: out / name / "small" / name for name in CHEAP}
    rows = build.build(out, "small", tmp_path, echo=lambda _: None, drawn=drawn)
    assert {r.figure for r in rows if r.status == "made"} == set(CHEAP)
    for name in CHEAP:
        for suffix in (".png", ".pdf"):
            assert (tmp_path / f"{name}{suffix}").read_bytes() == drawn[name].with_suffix(suffix).read_bytes()
    rows = build.build(out, "small", tmp_path / "again", echo=lambda _: None, drawn={CHEAP[0]: drawn[CHEAP[0]]})
    assert [r.status for r in rows if r.study == CHEAP[1]] == ["failed"]  # drawn: the stub above refused


def test_broken_plot_is_reported_and_fails_the_build(built, tmp_path, monkeypatch, capsys):
    out, _ = built
    from statphys.paper import plots

    def broken(kind, ds):
        if kind == "speed_accuracy":
            raise RuntimeError("no axes")
        return original(kind, ds)

    original = plots.plot
    monkeypatch.setattr(plots, "plot", broken)
    code = build.main(out, "small", tmp_path, allow_missing=True)
    printed = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^speed_accuracy\s+speed_accuracy\s+failed.*no axes", printed, re.M)
    assert (tmp_path / "curie_weiss_generation.pdf").exists()  # the others are still made


def test_figures_render_with_a_broken_latex_on_path(built, tmp_path, monkeypatch):
    """LaTeX asked for but broken (a `latex` that fails, as without cm-super): a warning, then mathtext."""
    from statphys.paper import plots, style

    out, _ = built
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("latex", "dvipng"):
        (fake / tool).write_text("#!/bin/sh\necho 'broken TeX' >&2\nexit 1\n")
        (fake / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{__import__('os').environ['PATH']}")
    ds = xr.load_dataset(out / "curie_weiss_generation" / "small" / "curie_weiss_generation.nc", engine="h5netcdf")
    try:
        with pytest.warns(RuntimeWarning, match="mathtext"):
            assert style.use_latex(True) is False
        written = plots.draw(ds.attrs["kind"], ds, tmp_path / "cw")
    finally:
        style.use_latex(False)
    assert all(p.exists() and p.stat().st_size > 1000 for p in written)


def test_figures_never_use_latex_unless_asked(built):
    from statphys.paper import plots, style

    out, _ = built
    ds = xr.load_dataset(out / "curie_weiss_generation" / "small" / "curie_weiss_generation.nc", engine="h5netcdf")
    style.use_latex(False)
    fig = plots.plot(ds.attrs["kind"], ds) if ds.attrs["kind"] in plots.available() else None
    import matplotlib

    assert matplotlib.rcParams["text.usetex"] is False
    if fig is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)


@pytest.mark.parametrize("value, error, expected", [
    (0.13061, 0.01202, r"0.131 \pm 0.012"),
    (1.5, None, "1.500"),
    (8192, None, "8192"),
    (2.5e-5, 3e-6, r"(2.50 \pm 0.30) \times 10^{-5}"),
    (float("nan"), 0.1, r"\mathrm{n/a}"),
    (12.3456, 0.0, "12.35"),
])
def test_format_number(value, error, expected):
    assert formatting.format_number(value, error) == expected


@pytest.mark.parametrize("value, error, expected", [
    (0.0010013, 0.0000312, "0.001001 ± 0.000031"),
    (2.5e-5, 3e-6, "(2.50 ± 0.30)×10⁻⁵"),
    (-0.36071, 0.00347, "-0.3607 ± 0.0035"),
    (float("nan"), None, "—"),
    (0.65, None, "0.6500"),
])
def test_format_plain(value, error, expected):
    assert formatting.format_plain(value, error) == expected


def test_headline_picks_a_flat_list_of_ragged_values_by_its_labels():
    """Ragged values stored flat (a dim without an index, labelled by non-index coordinates, as the inflection
    points of franz_parisi_mixture): a Headline selects by those labels, and results.tex names entries by them."""
    import numpy as np

    ds = xr.Dataset({"q": (("point",), [2.0, 2.1, 0.15, 0.42, 1.98])},
                    coords={"point_time": (("point",), [0.42, 0.015, 0.01, 0.01, 0.01]),
                            "point_rank": (("point",), [0, 0, 0, 1, 2])})
    figure = registry.Figure("f", "s", "test", (
        registry.Headline("b", "q", None, {"point_time": 0.01, "point_rank": 1}),
        registry.Headline("first", "q", None, {"point_time": 0.015}),
    ))
    rows = {key: (value, where) for key, value, _, where in numbers.headline_numbers(ds, figure)}
    assert rows["f.b"] == (0.42, "point_time = 0.01, point_rank = 1")
    assert rows["f.first"][0] == 2.1
    keys = [key for key, _, _ in numbers.dataset_numbers(ds, "s")]
    assert keys[3] == "s/q[point_time=0.01,point_rank=1]" and np.unique(keys).size == 5
