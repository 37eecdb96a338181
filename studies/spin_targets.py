"""Spin targets with an exact sampler, an exact denoiser and exact laws, as the learned-score studies measure them
(`SpinTarget`, `make_target`): the target, its order parameter and exact law, the direction of its speciation
and ln p_t for the fluctuation theorem.

  "curie_weiss"       P(s) ∝ exp(β M²/(2N)), s ∈ {±1}ᴺ (`models.curie_weiss`, exact at any N); order parameter
                      m = mean_i s_i; speciation along the uniform direction, t_S = ½ ln N⟨m²⟩.
  "hopfield2"         Hopfield with K = 2 random patterns ξ¹, ξ² (numpy seed ``disorder_seed``), P(s) ∝
                      exp(β/(2N) Σ_μ (ξ^μ·s)²) (`models.hopfield`: in the gauge τ = ξ¹ ⊙ s, two independent
                      Curie–Weiss groups A = {ξ¹_i = ξ²_i}, B at β_G = 2βN_G/N); order parameter the Mattis
                      overlap m = ξ¹·s/N, whose exact law is the convolution of the two groups' laws; speciation
                      along the top covariance eigenvector, ξ¹ on the group G with the larger N_G⟨m_G²⟩
                      (t_S = ½ ln max_G N_G⟨m_G²⟩).
  "edwards_anderson"  the ±J Edwards–Anderson model on the periodic L × L square lattice, N = L² (L ≥ 3,
                      N ≤ 20: L = 3, 4), bonds from numpy's default_rng(``disorder_seed``) (`models.edwards_anderson`,
                      NetKet's `Square(L, pbc=True)`), P(s) ∝ exp(β Σ_⟨ij⟩ J_ij s_i s_j); everything exact by
                      enumeration of the 2ᴺ states (`models.equilibrium`, `physics.generative_fluctuations.StateDensity`). The
                      magnetisation m = mean_i s_i keeps its exact law P(m) but is no order parameter of a spin
                      glass; the speciation runs along the top eigenvector v of the exact correlation matrix
                      C_ij = ⟨s_i s_j⟩, with t_S = ½ ln λ_max(C) (Biroli, Bonnaire, de Bortoli & Mézard, arXiv
                      2402.18491, eq. 6: the first eigen-direction of the data covariance to split), and the
                      generated law is measured on the energy per spin, the overlap law P(q) and all 2ᴺ states.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from statphys.models.base import import_netket
from statphys.models.curie_weiss import CurieWeiss
from statphys.models.edwards_anderson import EdwardsAnderson
from statphys.models.enumeration import log_weights
from statphys.models.equilibrium import equilibrium
from statphys.models.hopfield import Hopfield, group_beta

from statphys.physics import generative_fluctuations as gf

TARGETS = ("curie_weiss", "hopfield2", "edwards_anderson")
#: targets on a periodic square lattice (n = L², L ≥ 3, enumerable: n ≤ 20)
LATTICE_TARGETS = ("edwards_anderson",)
LATTICE_SIZES = (9, 16)


class LatticeLaw(NamedTuple):
    """Exact laws of a lattice target by enumeration, in `models.enumeration`'s state order (bit = 1 → spin −1,
    spin 0 the most significant bit)."""

    couplings: np.ndarray  # (n, n) the bonds J_ij (zero off the lattice)
    state_law: np.ndarray  # (2ⁿ,) P(s) of every state
    energy: float  # exact ⟨H⟩/N, H = −Σ_⟨ij⟩ J_ij s_i s_j
    q_law: np.ndarray  # (n + 1,) exact P(q) of two independent replicas, q = 2k/N − 1, k equal spins


class SpinTarget(NamedTuple):
    """A target with what the learned-score studies measure on it (module docstring)."""

    model: Any  # the target: sample, posterior_mean
    gauge: np.ndarray  # (n,): m = mean_i gauge_i s_i
    p_m: np.ndarray  # (n + 1,): exact P(M) of M = Σ_i gauge_i s_i = −N, −N + 2, …, N
    m2: float  # exact ⟨m²⟩
    direction: np.ndarray  # (n,): the denoiser projection Σ v_i D_i/Σ|v_i| of the class information
    m2_class: float  # its exact t = 0 second moment, the normaliser of the class information
    t_theory: float  # ½ ln of the top covariance eigenvalue
    density: Any  # marginal_log_prob(x, α, σ) = ln p_t(x), (batch, n) → (batch,), for the fluctuation theorem
    lattice: LatticeLaw | None = None  # exact laws of a lattice target (None for the mean-field ones)


def _group_law(size: int, beta: float) -> tuple[np.ndarray, float]:
    """P(k up spins) of a Curie–Weiss group of `size` spins and its N_G⟨m_G²⟩ (a group of none: k = 0, 0)."""
    if size == 0:
        return np.ones(1), 0.0
    group = CurieWeiss(size, beta)
    m, p = group.magnetization_law()
    return p, float(size * np.sum(p * m**2))


def check_target_size(name: str, n: int) -> None:
    """Refuses an n that the target cannot have: a lattice target needs n = L² in LATTICE_SIZES."""
    if name not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}, got {name!r}")
    if name in LATTICE_TARGETS and n not in LATTICE_SIZES:
        raise ValueError(f"{name} lives on a periodic L x L square lattice with L >= 3 and is enumerated exactly "
                         f"(2^N states): n must be one of {list(LATTICE_SIZES)} (L = 3, 4), got n = {n!r}")


def make_target(name: str, n: int, beta: float, disorder_seed: int = 0) -> SpinTarget:
    """The target `name` of n spins at inverse temperature beta (module docstring) with its exact laws and
    speciation direction; disorder_seed draws the Hopfield patterns or the EA bonds."""
    check_target_size(name, n)
    if name == "curie_weiss":
        model = CurieWeiss(n, beta)
        m, p_m = model.magnetization_law()
        m2 = float(np.sum(p_m * m**2))
        return SpinTarget(model, np.ones(n), p_m, m2, np.ones(n), m2, model.speciation_time(),
                          gf.curie_weiss_groups(np.ones(n), np.zeros(n, int), [p_m]))
    if name == "edwards_anderson":
        return _edwards_anderson(n, beta, disorder_seed)
    model = Hopfield.random(n, 2, beta, seed=disorder_seed)
    xi = np.asarray(model.patterns)
    same = xi[0] == xi[1]
    laws = [_group_law(int(np.sum(mask)), float(group_beta(beta, int(np.sum(mask)), n))) for mask in (same, ~same)]
    p_m = np.convolve(laws[0][0], laws[1][0])  # k = k_A + k_B up spins of τ = ξ¹ ⊙ s
    m = (2 * np.arange(n + 1) - n) / n
    top = int(np.argmax([laws[0][1], laws[1][1]]))
    mask = same if top == 0 else ~same
    eigenvalue = laws[top][1]
    density = gf.curie_weiss_groups(xi[0], np.where(same, 0, 1), [laws[0][0], laws[1][0]])
    return SpinTarget(model, xi[0], p_m, float(np.sum(p_m * m**2)), np.where(mask, xi[0], 0.0),
                      eigenvalue / int(np.sum(mask)), 0.5 * float(np.log(eigenvalue)), density)


def _edwards_anderson(n: int, beta: float, seed: int) -> SpinTarget:
    side = int(round(np.sqrt(n)))
    nk = import_netket()  # on first use, in the current precision (only this target needs NetKet's lattice)
    model = EdwardsAnderson.from_graph(nk.graph.Square(side, pbc=True), beta, bonds="pm", seed=seed)
    eq = equilibrium(model)
    lw = np.asarray(log_weights(model), np.float64)
    p = np.exp(lw - eq.log_z)
    states = 1.0 - 2.0 * ((np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1)
    corr = (states * p[:, None]).T @ states  # C_ij = ⟨s_i s_j⟩
    values, vectors = np.linalg.eigh(corr)
    top = vectors[:, -1] * np.sign(np.sum(vectors[:, -1]) or 1.0)
    norm = float(np.sum(np.abs(top)))
    with np.errstate(divide="ignore"):
        density = gf.StateDensity(states, np.log(p))
    return SpinTarget(model, np.ones(n), eq.m_law, eq.m2, top, float(values[-1]) / norm**2,
                      0.5 * float(np.log(values[-1])), density,
                      LatticeLaw(np.asarray(model.couplings, np.float64), p, eq.energy, eq.q_law))
