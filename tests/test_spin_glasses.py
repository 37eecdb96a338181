"""Spin-glass targets and exact enumeration: brute force, closed forms, gauge maps, bad input."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

from statphys.models import enumeration
from statphys.models.base import spin_states
from statphys.models.curie_weiss import CurieWeiss
from statphys.models.dataset import DataSet
from statphys.models.edwards_anderson import EdwardsAnderson
from statphys.models.equilibrium import equilibrium
from statphys.models.hopfield import Hopfield
from statphys.models.sk import IsingForm, SherringtonKirkpatrick, ising_form
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics.total_variation import total_variation


def brute_posterior_mean(target, x, alpha, sigma):
    s = np.asarray(spin_states(target.n), float)
    logits = np.asarray(target.log_weight(jnp.asarray(s)))[None] + alpha / sigma**2 * x @ s.T
    w = np.exp(logits - logits.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)) @ s


def test_enumeration_denoiser_matches_dense_softmax_and_is_chunk_invariant():
    sk = SherringtonKirkpatrick.random(10, 1.3, h=0.2, seed=4)
    x = np.random.default_rng(0).normal(size=(5, 10))
    exact = brute_posterior_mean(sk, x, 0.7, 0.6)
    np.testing.assert_allclose(sk.posterior_mean(x, 0.7, 0.6), exact, atol=1e-12)
    small = SherringtonKirkpatrick(sk.couplings, sk.beta, sk.h, chunk_size=64)
    np.testing.assert_allclose(jax.jit(small.posterior_mean)(x, 0.7, 0.6), exact, atol=1e-12)
    np.testing.assert_allclose(sk.posterior_mean(x[0], 0.7, 0.6), exact[0], atol=1e-12)


def test_overlap_and_magnetization_laws_match_brute_force():
    ea = EdwardsAnderson.from_graph(nk.graph.Chain(8, pbc=True), 0.8, bonds="gaussian", seed=2, h=0.3)
    th = equilibrium(ea)
    s = np.asarray(spin_states(8), float)
    lw = np.asarray(ea.log_weight(jnp.asarray(s)))
    p = np.exp(lw - lw.max())
    p /= p.sum()
    up = np.round((8 + s @ s.T) / 2).astype(int)
    q_law = np.zeros(9)
    np.add.at(q_law, up, np.outer(p, p))
    np.testing.assert_allclose(th.q_law, q_law, atol=1e-14)
    m_law = np.bincount(((8 + s.sum(1)) / 2).astype(int), weights=p, minlength=9)
    np.testing.assert_allclose(th.m_law, m_law, atol=1e-14)
    e = -0.5 * np.einsum("ai,ij,aj->a", s, np.asarray(ea.couplings), s)
    assert th.energy == pytest.approx(p @ e / 8, abs=1e-13)
    assert th.free_energy == pytest.approx(-np.log(np.exp(lw).sum()) / (0.8 * 8), rel=1e-13)


def test_curie_weiss_as_pairwise_model_and_free_spins():
    n, beta, h = 14, 1.2, 0.1
    cw_couplings = (np.ones((n, n)) - np.eye(n)) / n
    sk = SherringtonKirkpatrick(cw_couplings, beta, h)
    m, law = CurieWeiss(n, beta, h).magnetization_law()
    th = equilibrium(sk)
    np.testing.assert_allclose(th.m_values, m)
    np.testing.assert_allclose(th.m_law, law, atol=1e-13)
    free = equilibrium(SherringtonKirkpatrick.random(n, 0.0, h=0.4, seed=1))
    assert free.log_z == pytest.approx(n * np.log(2 * np.cosh(0.4)), rel=1e-13)
    assert free.magnetization == pytest.approx(np.tanh(0.4), rel=1e-12)
    assert free.q2 == pytest.approx(np.tanh(0.4) ** 4 + (1 - np.tanh(0.4) ** 4) / n, rel=1e-12)


def test_hopfield_mattis_is_curie_weiss_after_gauge():
    n, beta, h = 12, 1.4, 0.15
    hop = Hopfield.random(n, 1, beta, h=h, seed=7)
    xi = np.asarray(hop.patterns[0])
    x = np.random.default_rng(1).normal(size=(6, n))
    alpha, sigma = 0.8, 0.5
    by_enumeration = enumeration.posterior_mean(hop.log_weight, n, x, alpha, sigma)
    gauge = xi * CurieWeiss(n, beta).posterior_mean(xi * (x + h * sigma**2 / alpha), alpha, sigma)
    np.testing.assert_allclose(by_enumeration, gauge, atol=1e-9)
    np.testing.assert_allclose(hop.posterior_mean(x, alpha, sigma), by_enumeration, atol=1e-9)
    big = Hopfield.random(200, 1, beta, seed=0)  # beyond enumeration: the Curie–Weiss route
    assert big.posterior_mean(np.zeros((2, 200)), 0.5, 0.9).shape == (2, 200)


@pytest.mark.parametrize("seed", [0, 1])
def test_hopfield_two_patterns_split_into_curie_weiss_groups(seed):
    """K = 2 is two uncoupled Curie–Weiss models in the gauge ξ¹ ⊙ s: denoiser equal to enumeration at every
    (β, h, noise level), also vmapped over pattern pairs; exact samples reproduce the enumerated overlap law."""
    n = 11
    x = np.random.default_rng(seed).normal(size=(5, n)) * 1.3 + 0.4
    for beta in (0.5, 1.0, 1.7):
        for h in (0.0, 0.3):
            hop = Hopfield.random(n, 2, beta, h=h, seed=seed)
            for alpha, sigma in ((0.9, 0.5), (0.3, 1.0), (0.99, 0.1)):
                exact = enumeration.posterior_mean(hop.log_weight, n, x, alpha, sigma)
                np.testing.assert_allclose(hop.posterior_mean(x, alpha, sigma), exact, atol=1e-9)
    patterns = jnp.stack([Hopfield.random(n, 2, 1.0, seed=s).patterns for s in range(3)])
    vmapped = jax.vmap(lambda xi: Hopfield(xi, 1.2).posterior_mean(x, 0.8, 0.6))(patterns)
    for i in range(3):
        exact = enumeration.posterior_mean(Hopfield(patterns[i], 1.2).log_weight, n, x, 0.8, 0.6)
        np.testing.assert_allclose(vmapped[i], exact, atol=1e-9)

    hop = Hopfield.random(9, 2, 1.3, seed=seed)
    assert sum(hop.group_sizes) == 9
    samples = np.asarray(hop.sample(jax.random.key(seed), 40_000))
    overlaps = samples @ np.asarray(hop.patterns).T / 9
    states = np.asarray(spin_states(9), float)
    log_w = np.asarray(hop.log_weight(jnp.asarray(states)))
    p = np.exp(log_w - np.logaddexp.reduce(log_w))
    exact_overlaps = states @ np.asarray(hop.patterns).T / 9
    for f in (lambda o: o[:, 0] ** 2, lambda o: o[:, 0] * o[:, 1], lambda o: np.sum(o**2, 1) ** 2):
        values = f(overlaps)
        z = (values.mean() - np.sum(p * f(exact_overlaps))) / (values.std() / np.sqrt(len(values)))
        assert abs(z) < 4, z


def test_hopfield_two_patterns_beyond_enumeration():
    """At n = 4000 (no enumeration) the K = 2 denoiser of a field x = α s₀ + σ ε with σ → 0 returns s₀, and with
    α → 0 the overlaps of E[s | x] vanish; sampling stays exact through the Curie–Weiss groups."""
    hop = Hopfield.random(4000, 2, 1.5, seed=0)
    s0 = hop.sample(jax.random.key(1), 3)
    m = np.asarray(s0 @ hop.patterns.T) / 4000
    assert np.all(np.abs(m).max(axis=1) > 0.5)  # β = 1.5: every sample retrieves a pattern (mixture m ≈ (0.5, 0.5) too)
    x = 0.999 * s0 + 0.05 * jax.random.normal(jax.random.key(2), s0.shape)
    np.testing.assert_allclose(hop.posterior_mean(x, 0.999, 0.05), s0, atol=1e-6)
    noise = jax.random.normal(jax.random.key(3), s0.shape)
    overlaps = hop.posterior_mean(1e-4 * s0 + noise, 1e-4, 1.0) @ hop.patterns.T / 4000
    assert np.all(np.abs(np.asarray(overlaps)) < 0.1)


def test_hopfield_pairwise_form():
    hop = Hopfield.random(9, 3, 1.0, seed=2)
    s = np.asarray(spin_states(9), float)
    pair = -0.5 * np.einsum("ai,ij,aj->a", s, np.asarray(hop.couplings), s)
    np.testing.assert_allclose(np.asarray(hop.energy(jnp.asarray(s))), pair - 3 / 2, atol=1e-12)
    x = np.random.default_rng(3).normal(size=(4, 9))
    np.testing.assert_allclose(hop.posterior_mean(x, 0.5, 0.7), brute_posterior_mean(hop, x, 0.5, 0.7), atol=1e-12)


def test_ising_form_has_the_denoiser_of_its_target_and_one_tree_structure_for_all():
    """SK, EA and Hopfield (K = 3, through its zero-diagonal J) in their pairwise form: the target's own denoiser
    (brute force) and one pytree structure, so that one compiled run serves all three."""
    targets = [SherringtonKirkpatrick.random(9, 1.3, h=0.2, seed=4),
               EdwardsAnderson.from_graph(nk.graph.Square(3, pbc=True), 0.8, seed=2, h=-0.1),
               Hopfield.random(9, 3, 1.1, h=0.3, seed=2)]
    x = np.random.default_rng(3).normal(size=(4, 9))
    forms = [ising_form(target) for target in targets]
    for target, form in zip(targets, forms):
        assert isinstance(form, IsingForm)
        np.testing.assert_allclose(np.asarray(form.posterior_mean(x, 0.5, 0.7)),
                                   brute_posterior_mean(target, x, 0.5, 0.7), atol=1e-12)
    schedule = make_schedule("ou")
    structures = {jax.tree_util.tree_structure(ExactScore(form, schedule)) for form in forms}
    assert len(structures) == 1
    assert jax.tree_util.tree_structure(ExactScore(targets[0], schedule)) not in structures


def test_dataset_denoiser_is_enumeration_of_its_law():
    rng = np.random.default_rng(5)
    data = rng.choice([-1.0, 1.0], size=(6, 8))
    data[5] = data[0]  # a repeated row counts twice
    ds = DataSet(data)
    x = rng.normal(size=(4, 8))
    np.testing.assert_allclose(ds.posterior_mean(x, 0.9, 0.4), brute_posterior_mean(ds, x, 0.9, 0.4), atol=1e-12)
    th = equilibrium(ds)
    np.testing.assert_allclose(th.m_law, np.bincount(((8 + data.sum(1)) / 2).astype(int), minlength=9) / 6, atol=1e-14)


def test_edwards_anderson_square_lattice_bonds():
    ea = EdwardsAnderson.from_graph(nk.graph.Square(4, pbc=True), 1.0, bonds="pm", seed=0)
    J = np.asarray(ea.couplings)
    assert ea.n == 16
    assert np.count_nonzero(np.triu(J)) == 32 and set(np.unique(J[J != 0])) <= {-1.0, 1.0}
    assert np.all(np.count_nonzero(J, axis=1) == 4)


def test_spin_glass_susceptibility_grows_only_in_the_glass_phase():
    """N⟨q²⟩ averaged over 48 SK samples: bounded near 1/(1 − β²) at β = 0.5, growing with N at β = 1.5."""
    seeds = range(48)

    def chi(n, beta):
        values = [n * equilibrium(SherringtonKirkpatrick.random(n, beta, seed=s)).q2 for s in seeds]
        return np.mean(values), np.std(values, ddof=1) / np.sqrt(len(values))

    (hot8, _), (hot16, e_hot16) = chi(8, 0.5), chi(16, 0.5)
    (cold8, e_cold8), (cold16, e_cold16) = chi(8, 1.5), chi(16, 1.5)
    assert hot16 < 1 / (1 - 0.25) + 5 * e_hot16
    assert cold16 - cold8 > 3 * np.hypot(e_cold8, e_cold16)
    assert cold16 / cold8 > 1.25 > hot16 / hot8


def test_reverse_sde_with_exact_sk_score_reproduces_the_magnetization_law():
    """DDPM (the exact-transition discretisation of the reverse SDE), 100 steps, 2000 samples at N = 12:
    the TV distance to the exact law of m must be typical of 2000 exact samples (p-value from the null)."""
    sk = SherringtonKirkpatrick.random(12, 1.5, seed=3)
    th = equilibrium(sk)
    schedule = make_schedule("ou", T=4.0, t_min=1e-3)
    run = reverse_sample(jax.random.key(0), ExactScore(sk, schedule), schedule, num_steps=100, batch=2000, n=12,
                         sampler="ddpm")
    s = np.sign(np.asarray(run.x))
    tv, null_mean, null_sd, p_value = total_variation(s.mean(1), th.m_values, th.m_law)
    assert p_value > 1e-3, (tv, null_mean, null_sd)
    e = np.asarray(sk.energy(jnp.asarray(s))) / 12
    sd = np.sqrt(th.energy2 - th.energy**2) / np.sqrt(e.size)
    assert abs(e.mean() - th.energy) < 4.5 * sd


def test_bad_input():
    with pytest.raises(ValueError, match="n = 21"):
        SherringtonKirkpatrick.random(21, 1.0).posterior_mean(np.zeros((1, 21)), 0.5, 0.5)
    with pytest.raises(ValueError, match="n = 21"):
        equilibrium(SherringtonKirkpatrick.random(21, 1.0))
    with pytest.raises(ValueError, match="n = 22"):
        Hopfield.random(22, 3, 1.0).sample(jax.random.key(0), 3)
    with pytest.raises(ValueError, match="n = 22"):  # a field staggers the Curie–Weiss groups: enumeration only
        Hopfield.random(22, 2, 1.0, h=0.1).sample(jax.random.key(0), 3)
    with pytest.raises(ValueError, match="no edges"):
        EdwardsAnderson.from_graph(nk.graph.Graph(edges=[], n_nodes=4), 1.0)
    with pytest.raises(ValueError, match="bonds"):
        EdwardsAnderson.from_graph(nk.graph.Chain(4), 1.0, bonds="uniform")
    with pytest.raises(ValueError, match="num_patterns"):
        Hopfield.random(3, 9, 1.0)
    with pytest.raises(ValueError, match="patterns"):
        Hopfield(np.ones((9, 3)), 1.0)
    with pytest.raises(ValueError, match="patterns"):
        Hopfield(np.full((2, 3), 0.5), 1.0)
    with pytest.raises(ValueError, match="beta"):
        SherringtonKirkpatrick.random(5, -1.0)
    with pytest.raises(ValueError, match="beta"):
        Hopfield.random(5, 2, -0.1)
    with pytest.raises(ValueError, match="symmetric"):
        SherringtonKirkpatrick(np.triu(np.ones((4, 4)), 1), 1.0)
    with pytest.raises(ValueError, match="diagonal"):
        SherringtonKirkpatrick(np.eye(4), 1.0)
    with pytest.raises(ValueError, match="patterns"):
        DataSet(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="sigma"):
        SherringtonKirkpatrick.random(5, 1.0).posterior_mean(np.zeros((1, 5)), 1.0, 0.0)
