"""Figures of the study kinds (paper/plots): each drawn from a tiny real run of its study, checked as a referee
would: page width, the model's parameters stated, a legend never on top of data, error bars drawn, 300-dpi PNG."""

import json

import matplotlib.collections as mcollections
import matplotlib.container as mcontainer
import matplotlib.lines as mlines
import numpy as np
import pytest

from statphys.paper import plots, style
from statphys.studies import runner

# kind -> (params of a tiny run, strings the figure's parameter line must contain)
TINY = {
    "generation": ({"n": 6, "beta": [0.5, 1.5], "samplers": ["euler_maruyama", "pf_heun"], "num_steps": 20,
                    "num_samples": 128, "bootstrap": 20}, ("N = 6", "β = 0.5, 1.5", "samples = 128", "steps = 20")),
    "spin_glass_generation": ({"n": 4, "beta": 1.0, "model": ["sk", "edwards_anderson", "dataset"],
                               "samplers": ["ddpm", "pf_heun"], "num_steps": 20, "num_samples": 2000, "num_data": 8},
                              ("N = 4", "β = 1", "samples = 2000", "steps = 20")),
    "critical_exponents": ({"sizes": [16, 32], "num_betas": 5, "eq_samples": 400, "batch": 64, "num_lambdas": 4,
                            "bootstrap": 10, "emcee_steps": 60}, ("N = 16, 32", "β = 1", "OU paths = 64")),
    "hopfield_scaling": ({"sizes": [16, 32], "num_disorder": 2, "num_betas": 5, "eq_samples": 400, "batch": 32,
                          "num_lambdas": 4, "bootstrap": 10, "emcee_steps": 60},
                         ("N = 16, 32", "disorder samples per N = 2", "β = 1")),
    "spin_glass_order_parameters": ({"n": 4, "beta": [0.5, 1.5], "num_disorder": 3, "num_samples": 32,
                                     "num_times": 4, "bootstrap": 5},
                                    ("N = 4", "β = 0.5, 1.5", "disorder samples = 3")),
    "speciation": ({"n": [16, 32], "batch": 64, "num_times": 5}, ("N = 16, 32", "β = 1.5", "paths = 64")),
    "speciation:one_size": ({"n": 16, "batch": 64, "num_times": 5}, ("N = 16", "β = 1.5", "paths = 64")),
    "speciation:two_betas": ({"n": [16, 32], "beta": [1.0, 1.5], "batch": 64, "num_times": 5},
                             ("N = 16, 32", "β = 1, 1.5", "paths = 64")),
    "collapse": ({"num_points": 128, "d": [16, 32], "batch": 32, "num_times": 6, "bootstrap": 20},
                 ("n = 128", "d = 16, 32", "paths = 32")),
    "entropy_production": ({"n": [4, 8], "num_times": 6, "num_samples": 100, "num_bootstrap": 10},
                           ("N = 4, 8", "β = 1.5", "samples per time = 100")),
    "fluctuation_theorems": ({"schedule": ["ou", "cosine"], "num_trajectories": 256, "num_steps": 20,
                              "num_times": 10}, ("schedule = ou, cosine", "μ = 1", "paths = 256", "steps = 20")),
    "fluctuation_theorems:two_targets": ({"schedule": ["ou", "vp_linear"], "target": ["mixture", "gaussian"],
                                          "num_trajectories": 256, "num_steps": 20, "num_times": 10},
                                         ("target = mixture, gaussian", "schedule = ou, vp_linear", "s₀ = 2",
                                          "paths = 256")),
    "sampler_convergence": ({"target": "curie_weiss", "sampler": ["pf_euler", "li_ddim"], "num_steps": [10, 20, 40],
                             "batch": 500, "seeds": 2}, ("N = 8", "beta = 1.2")),
    "spin_glass_scaling": ({"sizes": [8, 16], "num_disorder": 3, "batch": 8, "num_steps": 10, "burn_in": 10,
                            "pt_num_betas": 5, "pt_sweeps": 40, "pt_burn_in": 40, "emcee_steps": 60},
                           ("N = 8, 16", "β = 0.5, 1.5", "disorder samples = 3")),
    "score_error_propagation": ({"target": ["curie_weiss:8", "sk:6"], "noise": [0.0, 0.4, 1.6],
                                 "bias": [0.0, 0.05, 0.2], "num_steps": 20, "num_samples": 256, "batch_size": 256,
                                 "bootstrap": 10}, ("steps = 20", "samples = 256")),
    "learned_spin_scores": ({"n": [4, 6], "networks": ["mlp:spin", "equivariant:spin"], "train_sizes": [8, 32],
                             "seeds": 2, "train_steps": 40, "eval_every": 20, "validation_size": 32, "num_times": 4,
                             "eval_samples": 64, "kl_nodes": 4, "kl_samples": 64, "num_steps": 20, "num_paths": 64,
                             "bootstrap": 10}, ("N = 4, 6", "β = 1.5", "seeds = 2")),
    "learned_spin_scores:edwards_anderson": ({"targets": ["edwards_anderson"], "n": [9], "beta": 1.0,
                                              "networks": ["conv:spin", "mlp:spin"], "train_sizes": [8, 32],
                                              "seeds": 2, "train_steps": 40, "eval_every": 20, "validation_size": 32,
                                              "num_times": 4, "eval_samples": 64, "kl_nodes": 4, "kl_samples": 64,
                                              "num_steps": 20, "num_paths": 64, "bootstrap": 10},
                                             ("N = 9", "β = 1", "seeds = 2", "bond seed = 0")),
}


def _toml(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture(scope="module", params=sorted(TINY))
def result(request, tmp_path_factory):
    """(kind, combined dataset of a tiny run of that kind, expected parameter strings)."""
    params, expected = TINY[request.param]
    kind = request.param.partition(":")[0]  # "<kind>:<variant>": a second study of one kind
    tmp = tmp_path_factory.mktemp(kind)
    text = f'kind = "{kind}"\ndescription = "tiny"\nseed = 1\n[params]\n' + "".join(
        f"{key} = {_toml(value)}\n" for key, value in params.items())
    path = tmp / f"tiny_{kind}.toml"
    path.write_text(text)
    ds = runner.run(runner.load(str(path)), tmp / "out", progress=False)
    return kind, ds, expected


def test_every_profile_shape_of_a_drawn_kind_has_a_tiny_run():
    """What `statphys run <study>` draws without --profile and with --profile full: for every shipped study whose
    kind has tiny runs here, the set of swept names of its default and full profiles is that of one of its kind's
    tiny runs (drawn by the slow tests) or of its small profile (drawn by `statphys reproduce`), so that no figure
    meets a dataset shape its plot was never run on (the speciation plot once failed on a scalar N)."""
    import importlib

    from statphys.studies import study_file

    for path in sorted(study_file.STUDIES_DIR.glob("*.toml")):
        small = runner.load(str(path), "small")
        tiny = [params for name, (params, _) in TINY.items() if name.partition(":")[0] == small.kind]
        if not tiny:
            continue
        sweep = importlib.import_module(f"statphys.studies.kinds.{small.kind}").SWEEP
        shapes = {frozenset(k for k in sweep if isinstance(params.get(k), list)) for params in tiny}
        shapes.add(frozenset(small.swept))
        for profile in ("default", "full"):
            swept = runner.load(str(path), profile).swept
            assert frozenset(swept) in shapes, (path.name, profile, sorted(swept), shapes)


def _data_points(artist) -> np.ndarray:
    """Display coordinates of a line's vertices and points along its segments, or of error-bar segments."""
    if isinstance(artist, mlines.Line2D):
        xy = np.column_stack([np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)])
        xy = xy[np.all(np.isfinite(xy), 1)]
        if len(xy) > 1 and artist.get_linestyle() not in ("None", "none", ""):
            f = np.linspace(0, 1, 25)[:, None, None]
            xy = (xy[:-1][None] * (1 - f) + xy[1:][None] * f).reshape(-1, 2)
        return artist.get_transform().transform(xy) if len(xy) else np.zeros((0, 2))
    if isinstance(artist, mcollections.LineCollection):
        parts = []
        for seg in artist.get_segments():
            seg = np.asarray(seg, float)
            seg = seg[np.all(np.isfinite(seg), 1)] if seg.ndim == 2 else seg
            if len(seg) > 1:
                f = np.linspace(0, 1, 10)[:, None, None]
                along = (seg[:-1][None] * (1 - f) + seg[1:][None] * f).reshape(-1, 2)
                parts.append(artist.get_transform().transform(along))
        return np.concatenate(parts) if parts else np.zeros((0, 2))
    return np.zeros((0, 2))


def legend_overlaps(fig) -> list[tuple[str, int]]:
    """(axes y label, number of data points) for every line or error bar with points inside a legend's box."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_legend().get_window_extent(renderer) for ax in fig.axes if ax.get_legend()]
    boxes += [legend.get_window_extent(renderer) for legend in fig.legends]
    found = []
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        for artist in list(ax.lines) + [c for c in ax.collections if isinstance(c, mcollections.LineCollection)]:
            pts = _data_points(artist)
            if not len(pts):
                continue
            visible = ((pts[:, 0] >= frame.x0) & (pts[:, 0] <= frame.x1)
                       & (pts[:, 1] >= frame.y0) & (pts[:, 1] <= frame.y1))
            for box in boxes:
                inside = (visible & (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1)
                          & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
                if inside.any():
                    found.append((ax.get_ylabel(), int(inside.sum())))
    return found


def test_legend_checker_sees_a_legend_on_data():
    fig, ax = style.figure()
    ax.plot([0.0, 1.0], [0.0, 1.0], "o-", label="data")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="center", markerscale=3)
    assert legend_overlaps(fig)
    ax.get_legend().remove()
    fig.legend(loc="outside lower center")
    assert not legend_overlaps(fig)


def test_legend_corner_is_chosen_once_the_figure_is_complete():
    """`_legend.place` asked before the data of its corner are drawn (a later panel's labels move every panel
    under the constrained layout): `_legend.finish` picks a corner free of the data drawn after the request."""
    from statphys.paper.plots import _legend

    fig, ax = style.figure()
    ax.plot([0.0, 1.0], [0.0, 0.1], "o-", label="early")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _legend.place(ax)
    ax.plot(np.linspace(0.0, 0.5, 11), np.full(11, 0.95), "s", label="late")
    _legend.finish(fig)
    assert ax.get_legend().get_texts()[-1].get_text() == "late"
    assert legend_overlaps(fig) == []
    assert _legend._PENDING.get(fig) is None


@pytest.mark.parametrize("scale", ["linear", "log", "symlog"])
def test_legend_room_is_made_on_the_axis_scale_and_not_for_lines_fixed_in_axes_coordinates(scale):
    """Every corner taken by data: the y range grows (a quarter of the drawn range per step) until the first corner
    is free, on any scale; taken only by vertical lines (fixed in axes coordinates), no taller range frees it, and
    the range is left as it was."""
    from statphys.paper.plots import _legend

    fig, ax = style.figure()
    ax.set_yscale(scale)
    ax.set_xlim(0, 1)
    ax.set_ylim(0.9, 110)
    scale_transform = ax.yaxis.get_transform()
    low, high = scale_transform.transform(np.array([0.9, 110.0]))
    heights = scale_transform.inverted().transform(low + np.array([0.03, 0.5, 0.97]) * (high - low))
    x, y = np.meshgrid([0.02, 0.98], heights)  # at both sides, bottom, middle and top of the range as drawn
    ax.plot(x.ravel(), y.ravel(), "o", label="data")
    _legend.place(ax)
    _legend.finish(fig)
    top = ax.get_ylim()[1]
    assert legend_overlaps(fig) == []
    drawn = ax.yaxis.get_transform().transform(np.array([0.9, 110.0, top]))
    assert 1.2 <= (drawn[2] - drawn[0]) / (drawn[1] - drawn[0]) <= 0.25 * 8 + 1, (scale, top)

    fig, ax = style.figure()
    ax.plot([0.4, 0.6], [0.4, 0.6], label="data")
    for position in (0.03, 0.97):
        ax.axvline(position, color="k")
    ax.set_yscale(scale)
    ax.set_ylim(0.3, 0.7)
    _legend.place(ax)
    _legend.finish(fig)
    assert ax.get_ylim() == (0.3, 0.7)


@pytest.mark.slow
def test_figure_states_parameters_has_error_bars_and_no_legend_on_data(result):
    kind, ds, expected = result
    fig = plots.plot(kind, ds)
    width = fig.get_size_inches()[0]
    assert width in (style.SINGLE, style.DOUBLE), width
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    for text in expected + ("profile default",):
        assert text in title, (text, title)
    assert legend_overlaps(fig) == []
    bars = [c for ax in fig.axes for c in ax.containers if isinstance(c, mcontainer.ErrorbarContainer)]
    assert bars, "no statistical estimate drawn with an error bar"
    for container in bars:
        assert container.has_xerr or container.has_yerr, container.get_label()
    for ax in fig.axes:
        if ax.has_data():
            assert ax.get_xlabel() or ax.get_xticklabels(), ax
            assert ax.get_ylabel(), ax.get_title()
    for ax in fig.axes:
        unnamed = [line for line in ax.lines if not line.get_label().startswith("_") and not line.get_label()]
        assert not unnamed


@pytest.mark.slow
def test_figure_is_saved_at_300_dpi(result, tmp_path):
    from PIL import Image

    kind, ds, _ = result
    png, pdf = plots.draw(kind, ds, tmp_path / kind)
    assert pdf.exists() and pdf.stat().st_size > 1000
    with Image.open(png) as image:
        pixels = image.size[0]
    assert 0.9 * style.DOUBLE * style.DPI <= pixels <= 1.1 * style.DOUBLE * style.DPI or \
        0.9 * style.SINGLE * style.DPI <= pixels <= 1.1 * style.SINGLE * style.DPI, pixels


@pytest.mark.slow
def test_spin_glass_generation_tv_error_lies_between_the_folded_and_unfolded_spread(result):
    """tv_err is the s.d. of TV(P̂*, P) over multinomial resamples P̂* of the generated law P̂, tv_null_sd that of
    TV(P̂₀, P) over multinomial draws P̂₀ of the exact law P, both with S = 2000 samples. Bin by bin, TV adds
    |X| with X Gaussian of the same s.d. σ in both cases, centred at 0 under the null (s.d. of |X|:
    σ(1 − 2/π)^{1/2}) and at P̂ − P for the bootstrap (s.d. between σ(1 − 2/π)^{1/2} and σ). So
    1 ≤ tv_err/tv_null_sd ≤ (1 − 2/π)^{-1/2} = 1.66, up to the error of an s.d. from 400 and 2000 resamples
    (3.5% and 1.6%): the band [0.88, 1.80] is 3σ wide on each side."""
    kind, ds, _ = result
    if kind != "spin_glass_generation":
        pytest.skip("spin_glass_generation only")
    ratio = (ds.tv_err / ds.tv_null_sd).values
    assert np.all((ratio > 0.88) & (ratio < 1.80)), ratio
