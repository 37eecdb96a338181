"""Spin glasses at scale: the law generated with the Monte-Carlo score against parallel-tempering equilibrium of the
same couplings, for 2-D Edwards–Anderson ±J (L × L), Hopfield (N, K) and SK (N); defaults L = 8, N = 64, K = 3.

For every model, β and disorder sample J_d:
* Generation: `physics.sk_generation.mc_replica_generation` of the target's pairwise form (OU reverse run, ddpm
  sampler, ``--batch`` particles with ``--chains-per-x`` persistent posterior chains each, warm-started along time;
  at β ≥ 1 the posterior chains are parallel-tempered over a geometric ladder from β down to 0.3). The B generated
  configurations are independent draws of the generated law for these couplings.
* AMP score (``--sk-score amp``): SK generated instead with the TAP/AMP posterior mean as the denoiser
  (`physics.amp.AMPDenoiser` in `physics.scores.ExactScore`, El Alaoui, Montanari & Sellke 2022; the same schedule,
  ddpm sampler and steps, ``--batch`` particles), the generated configurations sign(E_AMP[s | x_{t_min}]).
* Kernel: for EA the chains (generation and PT) run on the neighbour table `physics.montecarlo.NeighbourCouplings`
  (O(z) per flip, z = 4, instead of O(N) for the dense J), which gives the dense kernel's chains bit for bit
  (±J bonds); for Hopfield on `physics.montecarlo.PatternCouplings` (P = ξᵀ/√N, O(K) per flip), the dense
  kernel's chains to rounding; ``--dense-kernel`` runs the dense J instead.
* Equilibrium: `physics.tempering_equilibrium.tempering_equilibrium` (parallel tempering on a β grid that contains every
  β of the model), run twice with independent keys; the second run checks the first (equilibration), next to the
  swap rates and the split-R̂ of q².
* Observables (`physics.sk_generation.generated_law`): energy per spin ⟨H⟩/N with H = −½ sᵀJs (for Hopfield
  this is the pairwise form, −(1/2N) Σ_μ (ξ^μ·s)² + K/2), ⟨q²⟩ and U₄(q) = 1 − ⟨q⁴⟩/(3⟨q²⟩²) of pairs of
  independent configurations, and for Hopfield the Mattis overlaps m_μ = ξ^μ·s/N: ⟨Σ_μ m_μ²⟩, ⟨max_μ |m_μ|⟩.
* Exact reference (Hopfield): ⟨Σ_μ m_μ²⟩, E/N and ⟨q²⟩ of each pattern draw from the K-dimensional
  Hubbard–Stratonovich integral (`models.hopfield_equilibrium.exact_observables`: grid quadrature for K ≤ 3 and
  N ≤ 256, else Gauss–Hermite around each state), U₄(q) and ⟨max |m|⟩ from 2 × 20000 independent configurations
  drawn from the same quadrature, next to PT; and the states: the fraction of exact configurations
  nearest to each state (retrieval states ±ξ^μ, mixtures) against that of the generated ones (two-sample Pearson χ²
  over the states), and ⟨Σ m²⟩ within the states.
* Comparison: per sample z_d = (gen_d − eq_d)/√(err_gen² + err_eq²); the table gives the averages over the D
  samples [gen] and [eq] with the errors of these fixed couplings, √(Σ_d err_d²)/D, their z, and max_d |z_d|.

Options choose the models (``--models``), sizes (``--ea-sizes``, ``--hopfield-n``, ``--sk-n``), the numbers of
patterns (``--hopfield-k``), the steps (``--num-steps``; ``--num-steps-plain`` at β < 1, e.g. more steps near the
Hopfield critical point β = 0.8) and the sweeps per step; ``--append`` adds a section with the tables to a note,
``--json`` writes the rows. ``--pt-step`` sets the spacing of the PT grid, and ``--pt-only`` runs the two PT runs
alone and prints their table (a finer or longer reference for rows already generated).

Run: PYTHONUNBUFFERED=1 .venv/bin/python scripts/validate_spin_glasses_at_scale.py --out docs/spin_glasses_at_scale.md
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import jax
import netket as nk
import numpy as np
from scipy import stats

jax.config.update("jax_enable_x64", True)

from statphys.models.edwards_anderson import EdwardsAnderson  # noqa: E402
from statphys.models.hopfield import Hopfield  # noqa: E402
from statphys.models.hopfield_equilibrium import (equilibrium_samples, exact_observables,  # noqa: E402
                                                  mattis_overlaps, state_of)
from statphys.models.sk import SherringtonKirkpatrick  # noqa: E402
from statphys.physics.amp import AMPDenoiser  # noqa: E402
from statphys.paper.formatting import format_plain  # noqa: E402
from statphys.physics import montecarlo as mc  # noqa: E402
from statphys.physics import sk_generation as skg  # noqa: E402
from statphys.physics import tempering_equilibrium as pte  # noqa: E402
from statphys.physics.mc_score import tempering_ladder  # noqa: E402
from statphys.physics.schedules import make_schedule  # noqa: E402
from statphys.physics.scores import ExactScore  # noqa: E402
from statphys.physics.trajectory import reverse_sample  # noqa: E402

OBSERVABLES = {"energy": "E/N", "q2": "<q^2>", "binder": "U4(q)", "mattis2": "<sum m_mu^2>",
               "mattis_max": "<max |m_mu|>"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-disorder", type=int, default=4)
    p.add_argument("--batch", type=int, default=64, help="generated configurations per disorder sample")
    p.add_argument("--num-steps", type=int, default=100)
    p.add_argument("--num-steps-plain", type=int, default=None,
                   help="ddpm steps at beta < 1, where the posterior chains are not tempered (default: --num-steps)")
    p.add_argument("--chains-per-x", type=int, default=4, help="posterior chains per particle (M >= 4)")
    p.add_argument("--sweeps-per-step", type=int, default=48)
    p.add_argument("--burn-in", type=int, default=100)
    p.add_argument("--posterior-rungs", type=int, default=4,
                   help="tempering rungs of the posterior chains at beta >= 1")
    p.add_argument("--pt-sweeps", type=int, default=4000)
    p.add_argument("--pt-burn-in", type=int, default=1000)
    p.add_argument("--pt-chains", type=int, default=8)
    p.add_argument("--pt-step", type=float, default=0.1, help="spacing of the PT β grid from 0.2 up")
    p.add_argument("--pt-only", action="store_true",
                   help="run only the two PT runs and print their table (--out, --append, --json unused)")
    p.add_argument("--ea-sizes", type=int, nargs="+", default=[8], help="linear sizes L of the periodic L x L lattice")
    p.add_argument("--ea-betas", type=float, nargs="+", default=[1.0, 1.5])
    p.add_argument("--models", nargs="+", default=["ea", "hopfield", "sk"], choices=["ea", "hopfield", "sk"])
    p.add_argument("--hopfield-n", type=int, default=64)
    p.add_argument("--hopfield-k", type=int, nargs="+", default=[3], help="numbers of patterns K")
    p.add_argument("--hopfield-betas", type=float, nargs="+", default=[0.8, 1.5])
    p.add_argument("--sk-n", type=int, default=64)
    p.add_argument("--sk-betas", type=float, nargs="+", default=[0.5, 1.5])
    p.add_argument("--sk-score", choices=["mc", "amp"], default="mc",
                   help="SK generated with the Monte-Carlo score (default) or the TAP/AMP denoiser")
    p.add_argument("--dense-kernel", action="store_true",
                   help="EA and Hopfield with the dense O(N) column update instead of the neighbour table or the "
                        "patterns (the same chains)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="markdown file for the results (rewritten)")
    p.add_argument("--append", default=None, help="markdown file to which a section with the results is appended")
    p.add_argument("--json", default=None, help="file for the rows of the table as JSON")
    p.add_argument("--save-configurations", default=None,
                   help=".npz file for the generated configurations, one (D, B, N) int8 array per model and β")
    args = p.parse_args(argv)
    if args.num_steps_plain is None:
        args.num_steps_plain = args.num_steps
    return args


def models(args):
    """(label, n, make(d, β) → the target of disorder sample d at β, betas, Mattis projections (D, K, n) or None)."""
    num = args.num_disorder
    out = []
    for size in args.ea_sizes if "ea" in args.models else []:
        graph = nk.graph.Square(size, pbc=True)
        bonds = [EdwardsAnderson.from_graph(graph, 1.0, seed=d).couplings for d in range(num)]
        out.append((f"EA ±J 2-D L={size}", size * size, lambda d, beta, b=bonds: EdwardsAnderson(b[d], beta),
                    args.ea_betas, None))
    n = args.hopfield_n
    for k in args.hopfield_k if "hopfield" in args.models else []:
        xi = np.stack([np.asarray(Hopfield.random(n, k, 1.0, seed=d).patterns) for d in range(num)])
        out.append((f"Hopfield K={k}", n, lambda d, beta, xi=xi: Hopfield(xi[d], beta), args.hopfield_betas, xi))
    if "sk" in args.models:
        sk = [SherringtonKirkpatrick.random(args.sk_n, 1.0, seed=d).couplings for d in range(num)]
        label = "SK" if args.sk_score == "mc" else "SK, AMP score"
        out.append((label, args.sk_n, lambda d, beta: SherringtonKirkpatrick(sk[d], beta), args.sk_betas, None))
    return out


def pt_grid(betas, step=0.1):
    """Steps of ``step`` from 0.2 to max(β), with every β of the model on the grid."""
    grid = np.round(np.arange(0.2, max(betas) + 1e-9, step), 10)
    grid = np.unique(np.concatenate([grid, np.round(betas, 10)]))
    return grid


def combine(gen, eq):
    """Per sample (value, err) arrays (D,) of the generated and equilibrium laws → one table row."""
    (g, eg), (e, ee) = gen, eq
    z_d = (g - e) / np.sqrt(eg**2 + ee**2)
    num = len(g)
    err_g, err_e = np.sqrt(np.sum(eg**2)) / num, np.sqrt(np.sum(ee**2)) / num
    z = (g.mean() - e.mean()) / np.hypot(err_g, err_e)
    return {"gen": g.mean(), "gen_err": err_g, "eq": e.mean(), "eq_err": err_e, "z": z,
            "max_z": np.max(np.abs(z_d)), "chi2": np.mean(z_d**2)}


def run(args):
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    key = jax.random.key(args.seed)
    rows, checks, configurations, states = [], [], {}, []
    for m, (label, n, make, betas, proj) in enumerate(models(args)):
        t0 = time.time()
        J = np.stack([np.asarray(make(d, 1.0).couplings) for d in range(args.num_disorder)])
        # EA: the neighbour table (O(z) per flip, the same chains bit for bit as the dense J of ±1 bonds); Hopfield:
        # the patterns (O(K) per flip, the same chains to rounding)
        kernel = J
        if label.startswith("EA") and not args.dense_kernel:
            kernel = mc.NeighbourCouplings.from_dense(J)
        if label.startswith("Hopfield") and not args.dense_kernel:
            kernel = mc.PatternCouplings(np.stack([np.asarray(make(d, 1.0).patterns, float).T / np.sqrt(n)
                                                   for d in range(args.num_disorder)]))
        grid = pt_grid(betas, args.pt_step)
        kw = {"num_chains": args.pt_chains, "num_sweeps": args.pt_sweeps, "burn_in": args.pt_burn_in,
              "projections": proj}
        pts = [pte.tempering_equilibrium(jax.random.fold_in(key, 1000 * m + r), kernel, grid, **kw) for r in (1, 2)]
        t_pt = time.time() - t0
        print(f"[{time.strftime('%H:%M:%S')}] {label} N={n}: two PT runs on {len(grid)} betas "
              f"{grid[0]:.1f}..{grid[-1]:.1f}, {args.pt_chains} chains x {args.pt_burn_in}+{args.pt_sweeps} sweeps, "
              f"D={len(J)}: {t_pt:.0f} s", flush=True)
        if args.pt_only:
            rows.extend(pt_rows(label, n, betas, grid, pts, proj, {beta: exact_laws(proj, beta) for beta in betas}))
            checks.append({"model": label, "n": n, "grid": f"{len(grid)} β {grid[0]:.2f}…{grid[-1]:.2f}",
                           **pt_quality(pts, np.isin(grid, betas)), "pt_time": t_pt})
            continue
        for beta in betas:
            r = int(np.flatnonzero(np.isclose(grid, beta))[0])
            t1 = time.time()
            amp = label.endswith("AMP score")
            ladder = None if beta < 1 or amp else tempering_ladder(beta, 0.3, args.posterior_rungs)
            steps = args.num_steps if beta >= 1 else args.num_steps_plain
            laws, swap_min = [], []
            for d in range(len(J)):
                key_d = jax.random.fold_in(key, 10_000 * m + 100 * int(round(10 * beta)) + d)
                if amp:
                    generated = amp_generation(key_d, make(d, beta), schedule, steps, args.batch)
                else:
                    _, field, b = skg.pairwise_form(make(d, beta))
                    run_ = skg.mc_replica_generation(
                        key_d, jax.tree.map(lambda a: a[d], kernel), field, b, schedule, num_steps=steps,
                        batch=args.batch, chains_per_x=args.chains_per_x, sweeps_per_step=args.sweeps_per_step,
                        burn_in=args.burn_in, ladder=ladder)
                    generated = run_.generated
                    if ladder is not None:
                        swap_min.append(float(np.min(np.nanmean(np.asarray(run_.swap_acceptance), 0))))
                laws.append(skg.generated_law(generated, J[d], None if proj is None else proj[d]))
                configurations.setdefault(f"{label} N={n} beta={beta}", []).append(np.asarray(generated, np.int8))
            t_gen = time.time() - t1
            names = observable_names(proj)
            exact = exact_laws(proj, beta)
            for name in names:
                gen = (np.array([law[name].value for law in laws]), np.array([law[name].error for law in laws]))
                eq = [(getattr(p, name)[:, r], getattr(p, f"{name}_err")[:, r]) for p in pts]
                row = combine(gen, eq[0])
                pt_check = combine(eq[1], eq[0])
                rows.append({"model": label, "n": n, "beta": beta, "obs": OBSERVABLES[name], **row,
                             "pt_z": pt_check["z"], "pt_max_z": pt_check["max_z"],
                             **exact_columns(name, exact, row, eq[0])})
            if exact is not None and len(exact[0][0].weights) > 1:
                for d, (law, _) in enumerate(exact):
                    states.append({"model": label, "n": n, "beta": beta, "draw": d,
                                   **state_decomposition(configurations[f"{label} N={n} beta={beta}"][d], proj[d],
                                                         law, seed=d)})
            checks.append({"model": label, "n": n, "beta": beta,
                           **pt_quality(pts, r),
                           "gen_swap_min": min(swap_min) if swap_min else float("nan"),
                           "ladder": ("AMP" if amp else "plain") if ladder is None
                           else f"{args.posterior_rungs} rungs {beta}..0.3",
                           "steps": steps, "gen_time": t_gen})
            print(f"[{time.strftime('%H:%M:%S')}] {label} N={n} beta={beta}: generation "
                  f"({checks[-1]['ladder']}, {steps} steps) of {len(J)} x {args.batch}: {t_gen:.0f} s", flush=True)
            for row in rows[-len(names):]:
                print(f"    {row['obs']:>14}: gen {format_plain(row['gen'], row['gen_err'])}  "
                      f"eq {format_plain(row['eq'], row['eq_err'])}  z = {row['z']:+.2f}  "
                      f"max|z_d| = {row['max_z']:.2f}  (PT run 2 vs 1: z = {row['pt_z']:+.2f})", flush=True)
            if args.save_configurations:
                np.savez_compressed(args.save_configurations, **{k: np.stack(v) for k, v in configurations.items()})
    return rows, checks, states


def amp_generation(key, target, schedule, num_steps, batch):
    """SK generated with the TAP/AMP denoiser as the score (ddpm, log spacing): sign(E_AMP[s | x_{t_min}]),
    (batch, n)."""
    out = reverse_sample(key, ExactScore(AMPDenoiser.from_target(target), schedule), schedule, num_steps=num_steps,
                         batch=batch, n=target.n, sampler="ddpm", spacing="log")
    return np.sign(np.asarray(out.denoised))


def exact_laws(projections, beta):
    """The exact Hopfield reference of every pattern draw d (None without patterns): pairs (law, values) of
    `exact_observables` (values: observable → (value, error)), U₄(q) and ⟨max |m|⟩ from 2 × 20000 independent
    configurations, seed d."""
    if projections is None:
        return None
    return [exact_observables(xi, beta, num_pairs=20_000, seed=d) for d, xi in enumerate(projections)]


def exact_columns(name, exact, row, pt):
    """For Hopfield: the exact value averaged over draws, its error √(Σ_d err_d²)/D, and the z of the generated law
    and of PT (run 1) against it, with the exact error added in quadrature."""
    if exact is None:
        return {}
    values, errors = np.array([values[name] for _, values in exact]).T
    value, error = values.mean(), np.sqrt(np.sum(errors**2)) / len(errors)
    pt_value, pt_err = pt
    pt_mean, pt_mean_err = pt_value.mean(), np.sqrt(np.sum(pt_err**2)) / len(pt_err)
    return {"exact": value, "exact_err": error, "z_exact": (row["gen"] - value) / np.hypot(row["gen_err"], error),
            "pt_z_exact": (pt_mean - value) / np.hypot(pt_mean_err, error)}


def state_decomposition(spins, patterns, exact, num_reference=100_000, seed=0):
    """Generated configurations (B, N) of one draw against the exact states, both assigned to the nearest state
    centre (`state_of`), the exact law through ``num_reference`` of its independent configurations
    (`equilibrium_samples`; its state masses under this assignment differ from the smooth-partition ``weights`` where
    the states overlap, by up to 0.02 at K = 5, N = 256): the two-sample Pearson χ² of the counts per state,
    Σ_k (f_k − w_k)² / (p_k (1/B + 1/R)), p_k the pooled fraction (degrees of freedom: the states reached, − 1), and
    ⟨Σ m²⟩_gen − ⟨Σ m²⟩_exact split as
    Σ_k f_k (ḡ_k − e_k) (within the states: configurations less or more ordered than their state) +
    Σ_k (f_k − w_k) e_k (composition: how often each state is generated), f_k the generated fractions, w_k the
    exact ones, ḡ_k and e_k the generated and exact ⟨Σ m²⟩ in state k. Errors: within, the standard error of
    the per-configuration Σm² − e_k; composition, its multinomial standard deviation at the exact fractions."""
    spins = np.asarray(spins, dtype=float)
    xi = np.asarray(patterns, float)
    num, num_states = len(spins), len(exact.weights)
    reference = equilibrium_samples(xi, exact, num_reference, seed)
    reference_state = state_of(reference, xi, exact)
    reference_m2 = np.sum(mattis_overlaps(reference, xi) ** 2, 1)
    reference_counts = np.bincount(reference_state, minlength=num_states)
    weights = reference_counts / num_reference
    state_m2 = np.where(reference_counts > 0, np.bincount(reference_state, reference_m2, minlength=num_states)
                        / np.maximum(reference_counts, 1), exact.state_mattis2)
    state = state_of(spins, xi, exact)
    m2 = np.sum(mattis_overlaps(spins, xi) ** 2, 1)
    counts = np.bincount(state, minlength=num_states)
    pooled = (counts + reference_counts) / (num + num_reference)
    reached = pooled > 0
    chi2 = float(np.sum((counts / num - weights)[reached] ** 2 / (pooled[reached] * (1 / num + 1 / num_reference))))
    dof = int(reached.sum()) - 1
    within = m2 - state_m2[state]
    composition = float(np.sum((counts / num - weights) * state_m2))
    composition_err = np.sqrt(max(np.sum(weights * state_m2**2) - np.sum(weights * state_m2) ** 2, 0.0) / num)
    return {"chi2": chi2, "dof": dof, "p": float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
            "within": float(within.mean()), "within_err": float(within.std(ddof=1) / np.sqrt(num)),
            "composition": composition, "composition_err": float(composition_err),
            "max_weight": float(weights.max()), "max_fraction": float(counts[np.argmax(weights)] / num)}


def observable_names(projections):
    """The observables compared: energy, ⟨q²⟩, U₄, and with Mattis projections ⟨Σ m²⟩ and ⟨max |m|⟩."""
    return ["energy", "q2", "binder"] + ([] if projections is None else ["mattis2", "mattis_max"])


def pt_quality(pts, columns):
    """Smallest swap rate of the PT runs and their largest split-R̂(q²) at the grid columns (index or mask)."""
    return {"pt_swap_min": min(float(p.swap_acceptance.min()) for p in pts),
            "pt_rhat_max": max(float(np.max(p.rhat[:, columns])) for p in pts)}


def pt_rows(label, n, betas, grid, pts, proj, exact):
    """Rows of the PT-only table: the two runs averaged over samples, run 2 against run 1, and for Hopfield the
    exact reference (``exact``: β → `exact_laws`) with the z of both runs against it."""
    rows = []
    for beta in betas:
        r = int(np.flatnonzero(np.isclose(grid, beta))[0])
        for name in observable_names(proj):
            first, second = [(getattr(p, name)[:, r], getattr(p, f"{name}_err")[:, r]) for p in pts]
            check = combine(second, first)
            reference = exact_columns(name, exact[beta], check, first)  # z_exact: run 2, pt_z_exact: run 1
            rows.append({"model": label, "n": n, "beta": beta, "obs": OBSERVABLES[name], "run1": check["eq"],
                         "run1_err": check["eq_err"], "run2": check["gen"], "run2_err": check["gen_err"],
                         "z": check["z"], "max_z": check["max_z"], **reference})
    return rows


def markdown_table(headings, rows):
    """A Markdown table: a heading line, the separator, and one line per row of cells."""
    return "\n".join(["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
                     + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def exact_markdown(rows, first, second):
    """Table of the Hopfield rows against the exact reference; ``first``/``second``: (heading, value key, z key)."""
    rows = [r for r in rows if "exact" in r]
    if not rows:
        return ""
    return markdown_table(
        ["model", "N", "β", "observable", first[0], second[0], "exact (HS integral)", "its error",
         f"z, {first[0]}", f"z, {second[0]}"],
        [[r["model"], r["n"], r["beta"], r["obs"].replace("|", "\\|"),
          format_plain(r[first[1]], r[first[1] + "_err"]), format_plain(r[second[1]], r[second[1] + "_err"]),
          f"{r['exact']:.6f}", f"{r['exact_err']:.1g}", f"{r[first[2]]:+.2f}", f"{r[second[2]]:+.2f}"] for r in rows])


def states_markdown(states):
    """Per pattern draw: the generated configurations against the exact states (`state_decomposition`)."""
    if not states:
        return ""
    return markdown_table(
        ["model", "N", "β", "draw", "χ² / dof (p)", "largest exact fraction", "its generated fraction",
         "Δ⟨Σ m²⟩ within states", "Δ⟨Σ m²⟩ from composition"],
        [[c["model"], c["n"], c["beta"], c["draw"], f"{c['chi2']:.1f} / {c['dof']} ({c['p']:.2g})",
          f"{c['max_weight']:.3f}", f"{c['max_fraction']:.3f}", format_plain(c["within"], c["within_err"]),
          format_plain(c["composition"], c["composition_err"])] for c in states])


def pt_markdown(rows, checks):
    lines = ["| model | N | β | observable | PT run 1 | PT run 2 | z (2 vs 1) | max_d \\|z_d\\| |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        obs = r["obs"].replace("|", "\\|")
        lines.append(f"| {r['model']} | {r['n']} | {r['beta']} | {obs} | {format_plain(r['run1'], r['run1_err'])} | "
                     f"{format_plain(r['run2'], r['run2_err'])} | {r['z']:+.2f} | {r['max_z']:.2f} |")
    lines += ["", "| model | N | PT grid | min PT swap rate | max PT R̂(q²) at the model's β | PT wall (two runs) |",
              "|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['model']} | {c['n']} | {c['grid']} | {c['pt_swap_min']:.2f} | {c['pt_rhat_max']:.3f} | "
                     f"{c['pt_time']:.0f} s |")
    exact = exact_markdown(rows, ("PT run 1", "run1", "pt_z_exact"), ("PT run 2", "run2", "z_exact"))
    return "\n".join(lines) + ("\n\n" + exact if exact else "")


def markdown(rows, checks, states, args):
    lines = ["| model | N | β | observable | generated | equilibrium (PT) | z | max_d \\|z_d\\| | mean z_d² | "
             "PT 2 vs 1: z |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        obs = r["obs"].replace("|", "\\|")
        lines.append(f"| {r['model']} | {r['n']} | {r['beta']} | {obs} | {format_plain(r['gen'], r['gen_err'])} | "
                     f"{format_plain(r['eq'], r['eq_err'])} | {r['z']:+.2f} | {r['max_z']:.2f} | {r['chi2']:.2f} | "
                     f"{r['pt_z']:+.2f} |")
    lines += ["", "| model | N | β | posterior chains | steps | generation wall | min generation swap rate | "
              "min PT swap rate | max PT R̂(q²) |", "|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        gen_swap = "—" if c["ladder"] in ("plain", "AMP") else f"{c['gen_swap_min']:.2f}"
        lines.append(f"| {c['model']} | {c['n']} | {c['beta']} | {c['ladder']} | {c['steps']} | {c['gen_time']:.0f} s | "
                     f"{gen_swap} | {c['pt_swap_min']:.2f} | {c['pt_rhat_max']:.3f} |")
    extra = [exact_markdown(rows, ("generated", "gen", "z_exact"), ("PT run 1", "eq", "pt_z_exact")),
             states_markdown(states)]
    table = "\n\n".join(["\n".join(lines)] + [t for t in extra if t])
    z = np.array([r["z"] for r in rows])
    zd = np.array([r["max_z"] for r in rows])
    summary = (f"{len(z)} disorder-averaged comparisons: mean z² = {np.mean(z**2):.2f}, max |z| = "
               f"{np.max(np.abs(z)):.2f}; largest per-sample |z_d| = {np.max(zd):.2f} "
               f"(over {len(z) * args.num_disorder} per-sample z).")
    return table, summary


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    rows, checks, states = run(args)
    wall = time.time() - start
    if args.pt_only:
        print()
        print(pt_markdown(rows, checks))
        print(f"wall time {wall:.0f} s")
        return
    table, summary = markdown(rows, checks, states, args)
    command = "PYTHONUNBUFFERED=1 .venv/bin/python scripts/validate_spin_glasses_at_scale.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    print()
    print(table)
    print(summary)
    print(f"wall time {wall:.0f} s")
    if args.out:
        sizes = ", ".join(str(n) for n in sorted({row["n"] for row in rows}))
        text = f"""# Spin glasses at scale: generated law against parallel-tempering equilibrium

Issue 15, validation at N = {sizes}: the law generated by reverse diffusion with the Monte-Carlo score
(`physics.sk_generation.mc_replica_generation`) against parallel tempering of the same couplings
(`physics.tempering_equilibrium.tempering_equilibrium`), per disorder sample and averaged over {args.num_disorder} samples.
Method and definitions: the docstring of `scripts/validate_spin_glasses_at_scale.py`.

Command: `{command.strip()}`

Sizes and sweeps: D = {args.num_disorder} disorder samples per model (EA: periodic L × L, ±J bonds,
`EdwardsAnderson.from_graph(netket.graph.Square(L, pbc=True), seed=d)`; Hopfield: `Hopfield.random(N, K, seed=d)`;
SK: `SherringtonKirkpatrick.random(N, seed=d)`). Generation: OU schedule T = 3 → t_min = 0.01,
{args.num_steps} log-spaced ddpm steps, B = {args.batch} particles × {args.chains_per_x} heat-bath posterior chains,
{args.sweeps_per_step} sweeps per step (per rung), {args.burn_in} burn-in sweeps; at β ≥ 1 the posterior chains are
tempered over {args.posterior_rungs} rungs β … 0.3. Equilibrium: Metropolis parallel tempering on β = 0.2, 0.3, …
(every β of the model on the grid), {args.pt_chains} chains, {args.pt_burn_in} burn-in + {args.pt_sweeps} recorded
sweeps, two runs with independent keys.
Errors: generated, delete-one-configuration jackknife over the B configurations; PT, `chain_summary` (autocorrelation
and between-chain spread); the average over samples has the error of these fixed couplings, √(Σ_d err_d²)/D.
For Hopfield E/N is the pairwise form −½ sᵀJs/N with J = ξᵀξ/N, zero diagonal.

Wall time: {wall:.0f} s on this machine ({platform.machine()}, 2 CPU cores shared with other jobs: an upper bound).

{table}

{summary}
"""
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out}")
    if args.append:
        section = f"""
### `{command.strip()}`

D = {args.num_disorder} disorder samples; generation: {args.num_steps} steps at β ≥ 1 ({args.posterior_rungs} tempered
rungs β … 0.3), {args.num_steps_plain} steps at β < 1, B = {args.batch} particles × {args.chains_per_x} posterior chains,
{args.sweeps_per_step} sweeps per step, {args.burn_in} burn-in sweeps; PT: {args.pt_chains} chains,
{args.pt_burn_in} + {args.pt_sweeps} sweeps, two runs. Wall time {wall:.0f} s (2 contended CPU cores: an upper bound).

{table}

{summary}
"""
        with open(args.append, "a") as f:
            f.write(section)
        print(f"appended to {args.append}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "checks": checks, "states": states, "wall": wall, "args": vars(args)}, f,
                      default=float, indent=1)


if __name__ == "__main__":
    main()
