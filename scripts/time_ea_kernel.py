"""Time per generation step of the Monte-Carlo score for 2-D Edwards–Anderson ±J, dense coupling matrix against the
neighbour table (`physics.montecarlo.NeighbourCouplings`), side by side on the same couplings, keys and chains.

One step is one evaluation of `physics.mc_score.MCScore` (B particles × M posterior chains × R rungs, S sweeps
each, then the Rao–Blackwellised denoiser), jitted; the time is the least of ``--repeats`` calls after the first
(which compiles), as other jobs share the cores. Both kernels
draw the same sites and uniforms; the script checks that their chains agree bit for bit. The constant of the cost
model is c = time / (B · M · R · S · N · w) with w = N (dense column) or z = 4 (neighbour table).

Run: .venv/bin/python scripts/time_ea_kernel.py --sizes 10 16 (about 3 min on 2 cores)
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

jax.config.update("jax_enable_x64", True)

from statphys.models.edwards_anderson import EdwardsAnderson  # noqa: E402
from statphys.physics import montecarlo as mc  # noqa: E402
from statphys.physics.mc_score import MCScore, tempering_ladder  # noqa: E402
from statphys.physics.schedules import make_schedule  # noqa: E402


def step_time(couplings, beta, ladder, args):
    """(seconds of one jitted score evaluation after compilation, final chains) for couplings dense or sparse."""
    n = couplings.shape[-1]
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    score = MCScore(mc.as_couplings(couplings), jnp.zeros(n), jnp.asarray(beta, float), schedule, args.chains_per_x,
                    args.sweeps_per_step, 2, "heat_bath", 4, ladder)
    x = jax.random.normal(jax.random.key(1), (args.batch, n))
    t = jnp.asarray(0.5)
    state = jax.jit(lambda sc, k: sc.init(k, x, t))(score, jax.random.key(2))
    call = jax.jit(lambda sc, k, x, t, state: sc(k, x, t, state))  # the score traced, as in reverse_sample
    out = jax.block_until_ready(call(score, jax.random.key(3), x, t, state))
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        jax.block_until_ready(call(score, jax.random.key(3), x, t, state))
        times.append(time.perf_counter() - start)
    return min(times), out[1].chains


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 16])
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--chains-per-x", type=int, default=4)
    p.add_argument("--sweeps-per-step", type=int, default=48)
    p.add_argument("--rungs", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-dense-above", type=int, default=1000, help="no dense timing for N above this")
    args = p.parse_args(argv)
    print("| L | N | posterior chains | dense s/step | sparse s/step | speed-up | c dense (ns per flip·N) | "
          "c sparse (ns per flip·z) | chains equal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        J = EdwardsAnderson.from_graph(nk.graph.Square(size, pbc=True), args.beta, seed=0).couplings
        table = mc.NeighbourCouplings.from_dense(J)
        n, z = size * size, table.neighbours.shape[1]
        for ladder in (None, tempering_ladder(args.beta, 0.3, args.rungs)):
            rungs = 1 if ladder is None else args.rungs
            flips = args.batch * args.chains_per_x * rungs * args.sweeps_per_step * n
            t_sparse, c_sparse = step_time(table, args.beta, ladder, args)
            if n <= args.skip_dense_above:
                t_dense, c_dense = step_time(J, args.beta, ladder, args)
                equal = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(c_dense), jax.tree.leaves(c_sparse)))
                dense = f"{t_dense:.3f} | {t_sparse:.3f} | {t_dense / t_sparse:.1f}× | {1e9 * t_dense / (flips * n):.2f}"
            else:
                dense, equal = f"– | {t_sparse:.3f} | – | –", "–"
            label = "plain" if ladder is None else f"{rungs} rungs"
            print(f"| {size} | {n} | {label} | {dense} | {1e9 * t_sparse / (flips * z):.1f} | {equal} |", flush=True)


if __name__ == "__main__":
    main()
