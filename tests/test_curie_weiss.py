"""Curie–Weiss: Hubbard–Stratonovich denoiser vs brute-force enumeration, exact sampler vs exact P(M)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

from statphys.models import CurieWeiss, FiniteSupport, spin_states
from statphys.models.curie_weiss import log_elementary_symmetric, speciation_time_limit
from statphys.models.hubbard_stratonovich import hubbard_stratonovich_mean


def brute_force_denoiser(n, beta, h, x, alpha, sigma):
    """E[s|x] = Σ_s s P(s) e^{α x·s/σ²} / Σ_s P(s) e^{α x·s/σ²} over all 2ⁿ configurations (NumPy)."""
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    M = states.sum(1)
    logits = (beta * M**2 / (2 * n) + h * M)[None, :] + alpha * x @ states.T / sigma**2
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ states


posterior_mean = jax.jit(lambda model, x, a, s: model.posterior_mean(x, a, s))


@pytest.mark.parametrize("n", [1, 2, 5, 9, 14])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("h", [0.0, 0.3])
def test_hubbard_stratonovich_matches_enumeration(n, beta, h):
    """Max-norm relative error ≤ 1e-6 over noise levels from deep (α/σ² = 100) to weak (α/σ² = 0.01)."""
    model = CurieWeiss(n, beta, h)
    rng = np.random.default_rng(n * 100 + int(10 * beta))
    clean = np.asarray(model.sample(jax.random.PRNGKey(n), 8))
    for alpha, sigma in [(1.0, 0.1), (0.9, 0.5), (0.5, 1.0), (0.1, 1.0), (0.01, 1.0)]:
        x = alpha * clean + sigma * rng.standard_normal(clean.shape)
        exact = brute_force_denoiser(n, beta, h, x, alpha, sigma)
        got = np.asarray(posterior_mean(model, jnp.asarray(x), alpha, sigma))
        assert np.max(np.abs(got - exact)) <= 1e-6 * np.max(np.abs(exact)), (alpha, sigma)


def test_denoiser_at_criticality_quartic_peak():
    """β = 1, h = 0, x = 0 is the quartic peak exp(−N z⁴/12); the mean is 0 and a tiny field gives the
    linear response E[sᵢ|x] ≈ uᵢ + (Σ_j u_j/N)·N⟨m²⟩ − ..., checked here against enumeration at N = 14."""
    n = 14
    model = CurieWeiss(n, 1.0)
    x = 1e-3 * np.random.default_rng(0).standard_normal((3, n))
    exact = brute_force_denoiser(n, 1.0, 0.0, x, 1.0, 1.0)
    got = np.asarray(posterior_mean(model, jnp.asarray(x), 1.0, 1.0))
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=1e-12)


def test_runs_at_large_n_and_matches_mean_field():
    """N = 10⁵: denoiser of x = α s + σ ξ at weak noise is close to the clean spins, finite, and jit-compiles."""
    n = 100_000
    model = CurieWeiss(n, 1.2)
    s = model.sample(jax.random.PRNGKey(0), 2)
    x = 0.8 * s + 0.6 * jax.random.normal(jax.random.PRNGKey(1), s.shape)
    d = np.asarray(posterior_mean(model, x, 0.8, 0.6))
    assert np.all(np.isfinite(d)) and np.all(np.abs(d) <= 1)
    # each spin sees the field u = α x/σ² plus the mean field z* = β m: sign agreement with s is high
    assert np.mean(np.sign(d) == np.asarray(s)) > 0.9


def test_exact_sampler_matches_magnetization_law():
    """χ² test of the sampled M histogram against P(M) (p-value > 1e-4; fails with probability 1e-4)."""
    model = CurieWeiss(20, 1.3, 0.05)
    num = 200_000
    samples = np.asarray(model.sample(jax.random.PRNGKey(3), num))
    M = samples.sum(1).astype(int)
    m_values, p = model.magnetization_law()
    counts = np.array([(M == round(v * 20)).sum() for v in m_values])
    keep = p * num > 5
    expected = p[keep] * num
    chi2 = ((counts[keep] - expected) ** 2 / expected).sum() + (counts[~keep].sum() - (p[~keep] * num).sum()) ** 2 / max(
        (p[~keep] * num).sum(), 1e-12
    )
    assert scipy.stats.chi2.sf(chi2, keep.sum()) > 1e-4


def test_magnetization_law_matches_enumeration():
    n, beta, h = 10, 1.4, -0.2
    model = CurieWeiss(n, beta, h)
    states = np.asarray(spin_states(n), float)
    M = states.sum(1)
    w = np.exp(beta * M**2 / (2 * n) + h * M)
    m_values, p = model.magnetization_law()
    p_enum = np.array([w[M == round(v * n)].sum() for v in m_values]) / w.sum()
    np.testing.assert_allclose(p, p_enum, rtol=1e-12)
    np.testing.assert_allclose(np.exp(np.asarray(model.magnetization_log_probs())), p, rtol=1e-10)


def test_configurations_within_a_magnetization_are_uniform():
    """Given M, all C(N, k) configurations are equally likely: each spin is up with probability k/N."""
    model = CurieWeiss(6, 0.0)
    s = np.asarray(model.sample(jax.random.PRNGKey(5), 60_000))
    up_fraction = (s == 1).mean(0)
    np.testing.assert_allclose(up_fraction, 0.5, atol=5 * 0.5 / np.sqrt(60_000))


def test_denoiser_equals_finite_support_over_all_states():
    n, beta = 8, 1.3
    model = CurieWeiss(n, beta, 0.1)
    states = spin_states(n).astype(float)
    support = FiniteSupport(states, model.log_weight(states), chunk_size=37)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, n))
    np.testing.assert_allclose(model.posterior_mean(x, 0.7, 0.8), support.posterior_mean(x, 0.7, 0.8), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, field",
    [({"n": 0, "beta": 1.0}, "n"), ({"n": 4, "beta": -0.5}, "beta"), ({"n": 4.5, "beta": 1.0}, "n"), ({"n": 4, "beta": float("nan")}, "beta")],
)
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        CurieWeiss(**kwargs)


def test_denoiser_needs_positive_sigma():
    with pytest.raises(ValueError, match="sigma"):
        CurieWeiss(4, 1.0).posterior_mean(jnp.zeros((1, 4)), 1.0, 0.0)


def test_pairwise_ising_form_reproduces_the_log_weight():
    """β M²/(2N) + hM = β·½ sᵀJs + field·s + β/2 for every configuration (N = 7)."""
    model = CurieWeiss(7, 1.3, 0.2)
    s = spin_states(7).astype(float)
    pairwise = 0.5 * model.beta * jnp.einsum("ai,ij,aj->a", s, model.couplings, s) + s @ model.field + model.beta / 2
    np.testing.assert_allclose(pairwise, model.log_weight(s), rtol=1e-12)


@pytest.mark.parametrize("beta, snr", [(2.0, 1e-3), (2.0, 1.0), (1.2, 0.05)])
def test_float32_denoiser_stays_within_1e5_of_float64(beta, snr):
    """The GPU precision: at N = 1024 the float32 denoiser matches float64 to < 1e-5 (float32 rounding of tanh
    is 6e-8). Carrying tanh(z + u) through the Newton updates, or forming ln w(z_hi) − ln w(z_lo) through the
    addition formula, gave 2e-4 and 2.5e-3 here."""
    n = 1024
    alpha = math.sqrt(snr / (1 + snr))
    sigma = math.sqrt(1 - alpha**2)
    target = CurieWeiss(n, beta)
    s0 = target.sample(jax.random.key(0), 32)
    u = alpha * (alpha * s0 + sigma * jax.random.normal(jax.random.key(1), s0.shape)) / sigma**2
    reference = np.asarray(hubbard_stratonovich_mean(u, jnp.asarray(beta), n))
    with jax.enable_x64(False):
        single = hubbard_stratonovich_mean(jnp.asarray(np.asarray(u), jnp.float32), jnp.asarray(beta, jnp.float32), n)
        assert single.dtype == jnp.float32
    assert np.max(np.abs(np.asarray(single, float) - reference)) < 1e-5


# ---- exact laws given x_t and the speciation time (sums over up-spin counts) ------------------------------
def test_curie_weiss_lambda_and_limits():
    n = 4096
    assert CurieWeiss(n, 0.5).speciation_time() == pytest.approx(0.5 * math.log(2), abs=1e-3)
    lam = CurieWeiss(n, 1.0).top_eigenvalue()
    assert lam / math.sqrt(n) == pytest.approx(1.170829, rel=2 / math.sqrt(n) * 10)
    for beta in (1.0, 1.5):
        assert CurieWeiss(n, beta).speciation_time() == pytest.approx(
            speciation_time_limit(n, beta), abs=0.02)


def test_lambda_is_top_eigenvalue_by_enumeration():
    target = CurieWeiss(8, 1.3)
    s = spin_states(8, float)
    p = np.exp(np.asarray(target.log_weight(s)))
    p /= p.sum()
    cov = (np.asarray(s).T * p) @ np.asarray(s)
    assert target.top_eigenvalue() == pytest.approx(np.linalg.eigvalsh(cov).max(), rel=1e-12)


def test_magnetization_posterior_matches_enumeration():
    target = CurieWeiss(8, 1.2, 0.1)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 8))
    logp = np.asarray(target.magnetization_posterior(x, 0.7, 0.6))
    s = spin_states(8, float)
    logw = np.asarray(target.log_weight(s))[None] + 0.7 * np.asarray(x) @ np.asarray(s).T / 0.36
    w = np.exp(logw - logw.max(1, keepdims=True))
    k = ((np.asarray(s).sum(1) + 8) / 2).astype(int)
    pk = np.stack([np.bincount(k, wi, 9) for wi in w])
    np.testing.assert_allclose(np.exp(logp), pk / pk.sum(1, keepdims=True), atol=1e-12)



def test_log_elementary_symmetric_matches_brute_force_with_and_without_mask():
    """ln Σ_{#(s=+1)=k} exp(u·s) over the spins a mask selects, against itertools over all 2⁶ states; the
    unmasked call equals the all-True mask bit for bit."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2, 6))
    mask = np.array([[True, False, True, True, False, True], [False] * 3 + [True] * 3])
    states = np.array(list(itertools.product([1.0, -1.0], repeat=6)))
    got = np.asarray(log_elementary_symmetric(jnp.asarray(u), jnp.asarray(mask)))
    for row in range(2):
        sel = states[:, mask[row]]
        sub = np.unique(sel, axis=0)
        k = (sub > 0).sum(1)
        expected = np.full(7, -np.inf)
        for kk in range(mask[row].sum() + 1):
            expected[kk] = scipy.special.logsumexp(sub[k == kk] @ u[row, mask[row]])
        np.testing.assert_allclose(got[row], expected, atol=1e-12)
    full = log_elementary_symmetric(jnp.asarray(u))
    all_true = log_elementary_symmetric(jnp.asarray(u), np.ones((2, 6), bool))
    np.testing.assert_array_equal(np.asarray(full), np.asarray(all_true))


@pytest.mark.parametrize("beta,h", [(0.7, 0.0), (1.4, 0.1)])
def test_overlap_log_probs_matches_brute_force(beta, h):
    """ln P(K | x, s′), K = #(sᵢ = s′ᵢ), from the two-group sum against all 2⁹ states (NumPy)."""
    n, alpha, sigma = 9, 0.6, 0.8
    target = CurieWeiss(n, beta, h)
    key = jax.random.PRNGKey(3)
    refs = target.sample(key, 4)
    x = alpha * refs + sigma * jax.random.normal(jax.random.fold_in(key, 1), refs.shape)
    got = np.asarray(target.overlap_log_probs(refs, x, alpha, sigma))
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    M = states.sum(1)
    for ref, xx, row in zip(np.asarray(refs), np.asarray(x), got):
        logw = beta * M**2 / (2 * n) + h * M + alpha * states @ xx / sigma**2
        k = ((states @ ref + n) / 2).round().astype(int)
        log_pk = np.array([scipy.special.logsumexp(logw[k == kk]) for kk in range(n + 1)])
        np.testing.assert_allclose(row, log_pk - scipy.special.logsumexp(log_pk), atol=1e-11)
    with pytest.raises(ValueError, match="sigma"):
        target.overlap_log_probs(refs, x, alpha, 0.0)


def elementary_symmetric_denoiser(n, beta, u):
    """E[sᵢ | x] for one row u = α x/σ² (h = 0) from the law of the other spins' up count k: P(sᵢ = ±1 | x) ∝
    Σ_k exp(β(2(k + [sᵢ = 1]) − N)²/(2N)) e^{±uᵢ} e_k, with e_k the elementary symmetric sums of the spins j ≠ i
    (`log_elementary_symmetric` with a mask): exact at any N, independent of the Hubbard–Stratonovich integral."""
    u = jnp.asarray(u, jnp.float64)
    others = np.asarray(log_elementary_symmetric(jnp.broadcast_to(u, (n, n)), ~np.eye(n, dtype=bool)))[:, :n]
    k = np.arange(n)
    u = np.asarray(u)[:, None]
    up = scipy.special.logsumexp(beta * (2 * k + 2 - n) ** 2 / (2 * n) + u + others, axis=1)
    down = scipy.special.logsumexp(beta * (2 * k - n) ** 2 / (2 * n) - u + others, axis=1)
    return np.tanh(0.5 * (up - down))


def test_quadrature_is_exact_where_the_upper_saddle_search_stops_short_of_a_saddle():
    """Exact samples of p_t at N = 64, β = 2, t = 0.5 (OU): where the upper mode of ln w has vanished, the upper
    Newton search from +β crawls past its ghost and ends NEWTON_STEPS steps later far from any stationary point
    (more than 0.5 from where 200 steps end, in some rows: the case the test needs). The pieces still cover all
    the weight, and the denoiser keeps the enumeration test's 1e-6 max-norm relative accuracy against the
    elementary-symmetric sums (themselves checked against enumeration at N = 10)."""
    from statphys.models import hubbard_stratonovich as hs

    small = np.random.default_rng(1).standard_normal((3, 10))
    for row in small:
        np.testing.assert_allclose(elementary_symmetric_denoiser(10, 1.5, row),
                                   brute_force_denoiser(10, 1.5, 0.0, row[None], 1.0, 1.0)[0], rtol=1e-12, atol=1e-14)
    n, beta, t = 64, 2.0, 0.5
    model = CurieWeiss(n, beta)
    key = jax.random.PRNGKey(0)
    clean = model.sample(key, 512)
    alpha, sigma = math.exp(-t), math.sqrt(1 - math.exp(-2 * t))
    x = alpha * clean + sigma * jax.random.normal(jax.random.fold_in(key, 1), clean.shape)
    u = alpha * x / sigma**2
    start = jnp.full((512,), beta)
    spin_mean = lambda v: jnp.mean(v, axis=-1)  # noqa: E731
    z_default, _ = hs._saddle(u, jnp.asarray(beta), start, True, hs.NEWTON_STEPS, spin_mean)
    z_long, _ = hs._saddle(u, jnp.asarray(beta), start, True, 200, spin_mean)
    short = np.flatnonzero(np.abs(np.asarray(z_default - z_long)) > 0.5)
    assert short.size >= 3
    got = np.asarray(posterior_mean(model, x, alpha, sigma))
    for r in short:
        exact = elementary_symmetric_denoiser(n, beta, np.asarray(u[r]))
        assert np.max(np.abs(got[r] - exact)) <= 1e-6 * np.max(np.abs(exact)), r
