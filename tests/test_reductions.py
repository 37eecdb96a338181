"""Exact reductions, compile-once cloning and reduced runs, the matmul enumeration kernel and the cache-blocked
Curie–Weiss quadrature: closed forms and brute force to 1e-12, laws of reduced vs full runs by z-scores."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models import CurieWeiss, GaussianMixture, SherringtonKirkpatrick, enumeration, spin_states
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics import reduced as rd
from statphys.physics import cloning


def plus_minus_ones(d):
    return GaussianMixture(jnp.array([0.5, 0.5]), jnp.stack([jnp.ones(d), -jnp.ones(d)]), 1.0)


def three_centres(d=7, variances=0.4):
    means = jax.random.normal(jax.random.PRNGKey(3), (3, d))
    return GaussianMixture(jnp.array([0.2, 0.3, 0.5]), means, variances)


def test_mixture_matmul_form_equals_the_direct_sums():
    """posterior_mean and marginal_score (one matmul x·μ_k) = Σ_k r_k [...] written out over (batch, K, d)."""
    x = 2 * jax.random.normal(jax.random.PRNGKey(0), (6, 7))
    for mix in (three_centres(), three_centres(variances=jnp.array([0.2, 1.0, 3.0]))):
        alpha, sigma = 0.7, 0.5
        c = alpha**2 * mix.variances + sigma**2
        logp = (jnp.log(mix.weights) - 0.5 * jnp.sum((x[:, None] - alpha * mix.means) ** 2, -1) / c
                - 0.5 * mix.n * jnp.log(c))
        r = jax.nn.softmax(logp, -1)
        score = jnp.einsum("bk,bkd->bd", r / c, alpha * mix.means - x[:, None])
        mean = jnp.einsum("bk,bkd->bd", r, mix.means + (alpha * mix.variances / c)[:, None] * (x[:, None] - alpha * mix.means))
        np.testing.assert_allclose(mix.responsibilities(x, alpha, sigma), r, atol=1e-12)
        np.testing.assert_allclose(mix.marginal_score(x, alpha, sigma), score, atol=1e-12)
        np.testing.assert_allclose(mix.posterior_mean(x, alpha, sigma), mean, atol=1e-12)


@pytest.mark.parametrize("mix", [plus_minus_ones(9), three_centres(),
                                 GaussianMixture(jnp.array([0.5, 0.5]), jnp.zeros((2, 4)), 0.3)],
                         ids=["pm_ones", "three_centres", "zero_centres"])
def test_orthogonal_split_rebuilds_score_and_denoiser(mix):
    red = rd.reduction_of(mix)
    assert red.rank == {9: 1, 7: 3, 4: 1}[mix.n]
    x = 3 * jax.random.normal(jax.random.PRNGKey(1), (5, mix.n))
    for alpha, sigma in ((0.9, 0.3), (0.2, 0.98)):
        np.testing.assert_allclose(rd.reduced_score(red, x, alpha, sigma), mix.marginal_score(x, alpha, sigma), atol=1e-12)
        np.testing.assert_allclose(rd.reduced_posterior_mean(red, x, alpha, sigma), mix.posterior_mean(x, alpha, sigma),
                                   atol=1e-12)


def test_orthogonal_step_coefficients_match_closed_forms():
    """EM on the score −x/c: a = 1 − fΔ − g²Δ/c, b² = g²Δ; DDPM: a = (α_{t|s} σ_s² + α_s σ²_{t|s} α_t v/c)/σ_t²,
    b² = σ²_{t|s} σ_s²/σ_t²; deterministic samplers: b = 0."""
    v = 0.7
    for schedule in (make_schedule("ou", T=2.0), make_schedule("vp_linear", T=1.0)):
        times = schedule.time_grid(7)
        t, s = times[:-1], times[1:]
        c = schedule.alpha(t) ** 2 * v + schedule.sigma2(t)
        f, g2, dt = schedule.drift(t), schedule.diffusion2(t), t - s
        a, b = rd.orthogonal_step_coefficients(schedule, v, times, "euler_maruyama")
        np.testing.assert_allclose(a, 1 - f * dt - g2 * dt / c, atol=1e-12)
        np.testing.assert_allclose(b**2, g2 * dt, atol=1e-12)
        a, b = rd.orthogonal_step_coefficients(schedule, v, times, "ddpm")
        a_ts = schedule.alpha(t) / schedule.alpha(s)
        var_ts = schedule.sigma2(t) - a_ts**2 * schedule.sigma2(s)
        expected = (a_ts * schedule.sigma2(s) + schedule.alpha(s) * var_ts * schedule.alpha(t) * v / c) / schedule.sigma2(t)
        np.testing.assert_allclose(a, expected, atol=1e-12)
        np.testing.assert_allclose(b**2, var_ts * schedule.sigma2(s) / schedule.sigma2(t), atol=1e-12)
        a, b = rd.orthogonal_step_coefficients(schedule, v, times, "pf_euler")
        np.testing.assert_allclose(a, 1 - f * dt - 0.5 * g2 * dt / c, atol=1e-12)
        assert np.all(np.asarray(b) == 0)


def test_orthogonal_law_is_the_full_run_path_by_path():
    """Full d-dimensional EM run of N(0, vI) with the same key from x0 and from 0: the difference is A x0 (to
    rounding), and the run from 0 has per-coordinate variance V (z-score over 4000 coordinates)."""
    v, d = 0.5, 2000
    gauss = GaussianMixture(jnp.array([1.0]), jnp.zeros((1, d)), v)
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    gain, var = rd.orthogonal_law(schedule, v, schedule.time_grid(15))
    x0 = jax.random.normal(jax.random.PRNGKey(4), (2, d))
    run = lambda x: reverse_sample(jax.random.PRNGKey(5), ExactScore(gauss, schedule), schedule, num_steps=15,  # noqa: E731
                                   x_init=x).x
    from_zero = np.asarray(run(jnp.zeros_like(x0)))
    np.testing.assert_allclose(np.asarray(run(x0)) - from_zero, gain * np.asarray(x0), atol=1e-12)
    z = (np.mean(from_zero**2) - var) / (var * math.sqrt(2 / from_zero.size))
    assert abs(z) < 4.5, z


def _law_statistics(x, basis):
    """Per trajectory: y = Qᵀx (first direction), y², |y|, and the mean square of P⊥x per coordinate."""
    y = x @ basis
    perp = x - y @ basis.T
    return {"y": y[:, 0], "y2": y[:, 0] ** 2, "abs_y": np.abs(y[:, 0]),
            "perp2": np.sum(perp**2, 1) / (x.shape[1] - basis.shape[1])}


@pytest.mark.parametrize("sampler", ["euler_maruyama", pytest.param("ddpm", marks=pytest.mark.slow)])
def test_reduced_run_has_the_law_of_the_full_discretised_run(sampler):
    """Reduced (1-D + exact orthogonal law) vs full 16-D runs, same steps (20, coarse on purpose), 4000 samples
    each: two-sample z-scores of moments < 4.5; the continuous-time orthogonal variance (= v) is rejected."""
    d, batch, steps = 16, 4000, 20
    mix = plus_minus_ones(d)
    red = rd.reduction_of(mix)
    schedule = make_schedule("ou", T=3.0, t_min=0.05)
    full = np.asarray(reverse_sample(jax.random.PRNGKey(6), ExactScore(mix, schedule), schedule, num_steps=steps,
                                     batch=batch, n=d, sampler=sampler).x)
    reduced = rd.reduced_reverse_sample(jax.random.PRNGKey(7), red, schedule, num_steps=steps, batch=batch,
                                        sampler=sampler)
    a, b = _law_statistics(full, red.basis), _law_statistics(np.asarray(reduced.x), red.basis)
    for name in a:
        z = (a[name].mean() - b[name].mean()) / math.sqrt(a[name].var() / batch + b[name].var() / batch)
        assert abs(z) < 4.5, (name, z)
    z_continuous = (a["perp2"].mean() - red.variance) / (a["perp2"].std() / math.sqrt(batch))
    assert abs(z_continuous) > 6, z_continuous
    np.testing.assert_allclose(np.asarray(reduced.denoised),
                               np.asarray(mix.posterior_mean(reduced.x, schedule.alpha(0.05), schedule.sigma(0.05))),
                               atol=1e-10)


@pytest.mark.parametrize("spacing", ["uniform", "log"])
def test_reduced_deterministic_run_is_the_full_run_path_by_path(spacing):
    """With a deterministic sampler (no noise) the reduction is exact path by path: reduced_reverse_sample from
    given x_init equals the full 3-centre, 7-D probability-flow run to 1e-10, denoiser included (the reduced
    run's traced time grid is the schedule's time_grid for both spacings)."""
    mix = three_centres()
    red = rd.reduction_of(mix)
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    x = 2 * jax.random.normal(jax.random.PRNGKey(12), (6, mix.n))
    full = reverse_sample(jax.random.PRNGKey(0), ExactScore(mix, schedule), schedule, num_steps=25, x_init=x,
                          sampler="pf_heun", spacing=spacing)
    reduced = rd.reduced_reverse_sample(jax.random.PRNGKey(1), red, schedule, num_steps=25, x_init=x, sampler="pf_heun",
                                        spacing=spacing)
    np.testing.assert_allclose(reduced.x, full.x, atol=1e-10)
    np.testing.assert_allclose(reduced.denoised, full.denoised, atol=1e-10)


def _mean_denoiser(x, denoised, t):
    return jnp.mean(denoised, axis=-1)


def test_reduced_projected_run_is_reverse_sample_in_r_dimensions():
    """full_state=False: the projected run is reverse_sample of p_∥ in r = 3 dimensions from Qᵀx_init with key
    split(key)[0], step for step (Euler–Maruyama: same noise), recorded observables and times included."""
    mix = three_centres()
    red = rd.reduction_of(mix)
    schedule = make_schedule("vp_linear", T=1.0, t_min=0.02)
    x = 2 * jax.random.normal(jax.random.PRNGKey(13), (5, mix.n))
    key = jax.random.PRNGKey(14)
    kwargs = dict(num_steps=24, record_every=6, observables={"m": _mean_denoiser})
    got = rd.reduced_reverse_sample(key, red, schedule, x_init=x, full_state=False, **kwargs)
    want = reverse_sample(jax.random.split(key)[0], ExactScore(red.target, schedule), schedule, x_init=red.project(x),
                          **kwargs)
    for a, b in ((got.x, want.x), (got.denoised, want.denoised), (got.times, want.times),
                 (got.observables["m"], want.observables["m"])):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert got.observables["m"].shape == (5, 5)


def test_reduced_run_compiles_once_for_every_step_count_and_key():
    """One compiled function per run; a new key, step count and stride with the same number of records (and
    another target of the same shapes) compile nothing: no retracing, no eager closed forms."""
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, duration, **kw: compiles.append(name) if name == "/jax/core/compile/backend_compile_duration" else None)
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    red, other = rd.reduction_of(plus_minus_ones(5)), rd.reduction_of(plus_minus_ones(5))
    other = other._replace(target=GaussianMixture(jnp.array([0.3, 0.7]), other.target.means, 1.0))
    keys = [jax.random.PRNGKey(k) for k in range(3)]
    obs = {"m": _mean_denoiser}
    rd.reduced_reverse_sample(keys[0], red, schedule, num_steps=12, record_every=3, batch=4, observables=obs)
    compiles.clear()
    rd.reduced_reverse_sample(keys[1], red, schedule, num_steps=40, record_every=10, batch=4, observables=obs)
    rd.reduced_reverse_sample(keys[2], other, schedule, num_steps=4, record_every=1, batch=4, observables=obs)
    assert compiles == []


def test_reduced_run_reports_the_first_non_finite_step():
    red = rd.reduction_of(plus_minus_ones(3))
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    x = jnp.array([[1.0, 2.0, 3.0], [jnp.inf, 0.0, 0.0]])
    with pytest.raises(FloatingPointError, match="after step 1 of 5"):
        rd.reduced_reverse_sample(jax.random.PRNGKey(0), red, schedule, num_steps=5, x_init=x)


def test_evolve_is_reverse_sample_from_any_start_time():
    """evolve(t_start, t_end, K) with traced times = reverse_sample on a schedule with T = t_start (OU), same key."""
    target = plus_minus_ones(5)
    schedule = make_schedule("ou", T=1.5, t_min=0.1)
    x = jax.random.normal(jax.random.PRNGKey(8), (7, 5))
    ref = reverse_sample(jax.random.PRNGKey(9), ExactScore(target, schedule), schedule, num_steps=12, x_init=x).x
    got = cloning.evolve(jax.random.PRNGKey(9), ExactScore(target, schedule), make_schedule("ou", T=4.0, t_min=0.1), x,
                    1.5, 0.1, 12)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_cloning_compiles_once_for_every_branch_time_and_step_count():
    target = plus_minus_ones(3)
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    score = ExactScore(target, schedule)
    kwargs = dict(batch=4, n=3, dt=0.1, classify=cloning.sign_class)
    cloning.cloning_curve(jax.random.PRNGKey(0), score, schedule, [1.0], **kwargs)
    before = cloning._clone_experiment._cache_size()
    cloning.cloning_curve(jax.random.PRNGKey(1), score, schedule, [0.3, 0.77, 1.6, 2.0], **kwargs)
    assert cloning._clone_experiment._cache_size() == before
    x = jnp.zeros((2, 3))
    cloning.clone_end_classes(jax.random.PRNGKey(2), score, schedule, x, 0.8, 2, 10, cloning.sign_class)
    evolve_before = cloning._evolve._cache_size()
    cloning.clone_end_classes(jax.random.PRNGKey(2), score, schedule, x, 1.7, 2, 31, cloning.sign_class)
    assert cloning._evolve._cache_size() == evolve_before


def test_reduced_cloning_curve_matches_full_run_and_theory():
    """Biroli et al.'s cloning at d = 64 (t_S ≈ ½ ln 64 = 2.08): φ(t_b) from the full run, the reduced (1-D) run
    and the closed form agree within 4.5 standard errors (+ 0.03 for the time step against theory)."""
    d, batch = 64, 400
    mix = plus_minus_ones(d)
    red = rd.reduction_of(mix)
    schedule = make_schedule("ou", T=4.0, t_min=0.02)
    branch = np.array([1.6, 2.1, 3.2])
    kwargs = dict(batch=batch, dt=0.02, classify=cloning.sign_class)
    full = np.asarray(cloning.cloning_curve(jax.random.PRNGKey(10), ExactScore(mix, schedule), schedule, branch, n=d, **kwargs))
    reduced = np.asarray(cloning.cloning_curve(jax.random.PRNGKey(11), ExactScore(red.target, schedule), schedule, branch,
                                          n=red.rank, **kwargs))
    theory = cloning.two_class_cloning_probability(branch, float(d))
    assert theory[0] > 0.9 and theory[-1] < 0.56  # the branch times straddle the transition
    for f, r, p in zip(full, reduced, theory):
        se = math.sqrt((f.var() + r.var()) / batch)
        assert abs(f.mean() - r.mean()) < 4.5 * se
        for est in (f, r):
            assert abs(est.mean() - p) < 4.5 * math.sqrt(p * (1 - p) / batch) + 0.03


def test_reduced_bad_input_is_named():
    with pytest.raises(ValueError, match="orthogonal_split"):
        rd.reduction_of(CurieWeiss(8, 1.0))
    with pytest.raises(ValueError, match="shared variance"):
        three_centres(variances=jnp.array([0.2, 1.0, 3.0])).orthogonal_split()
    schedule = make_schedule("ou", T=2.0, t_min=0.05)
    with pytest.raises(ValueError, match="branch_times"):
        cloning.cloning_curve(jax.random.PRNGKey(0), ExactScore(plus_minus_ones(2), schedule), schedule, [3.0], batch=2,
                         n=2, dt=0.1, classify=cloning.sign_class)
    with pytest.raises(ValueError, match="t_start > t_end"):
        cloning.evolve(jax.random.PRNGKey(0), ExactScore(plus_minus_ones(2), schedule), schedule, jnp.zeros((1, 2)),
                  0.5, 1.0, 3)
    with pytest.raises(ValueError, match="x_init"):
        rd.reduced_reverse_sample(jax.random.PRNGKey(0), rd.reduction_of(plus_minus_ones(4)), schedule, num_steps=2,
                                  x_init=jnp.zeros((2, 3)))


@pytest.mark.parametrize("batch", [31, 601])
def test_blocked_curie_weiss_quadrature_equals_the_unblocked_one(batch):
    """Batch × N = 1024 in float64 runs (on the CPU) as blocks of rows with padding rows: batch 31 as 2 small
    blocks of 16 rows (one core), batch 601 as 3 large blocks of 201 rows; each row equals the same row evaluated in
    a batch of 8 (one block, no padding) to float64 rounding, with and without a spin mask."""
    from statphys.models import hubbard_stratonovich as hs

    n = 1024
    rows = hs._cpu_block_rows(batch, n, 8)
    assert rows < batch and batch % rows  # several blocks, padding included
    u = 0.3 + 1.5 * jax.random.normal(jax.random.PRNGKey(20), (batch, n))
    mask = (jnp.arange(n) % 3 > 0).astype(u.dtype)
    starts = sorted({0, rows - 4, rows, batch - 8} | set(range(0, batch, max(8, batch // 8))))
    for beta in (0.7, 1.0, 1.6):
        beta = jnp.asarray(beta)
        blocked = hs.hubbard_stratonovich_mean(u, beta, n)
        masked = hs.hubbard_stratonovich_mean(u, beta, jnp.sum(mask), mask=mask)
        for a in starts:
            np.testing.assert_allclose(blocked[a : a + 8], hs.hubbard_stratonovich_mean(u[a : a + 8], beta, n),
                                       rtol=0, atol=1e-13)
            np.testing.assert_allclose(masked[a : a + 8],
                                       hs.hubbard_stratonovich_mean(u[a : a + 8], beta, jnp.sum(mask), mask=mask),
                                       rtol=0, atol=1e-13)


def brute_posterior_mean(log_weight, n, x, alpha, sigma):
    s = jnp.asarray(spin_states(n, float))
    logits = log_weight(s)[None] + alpha / sigma**2 * x @ s.T
    return jax.nn.softmax(logits, axis=-1) @ s


@pytest.mark.parametrize("n,chunk_size", [(1, 4), (5, 1), (9, 64), (12, enumeration.CHUNK_SIZE)])
def test_matmul_enumeration_kernel_equals_the_dense_softmax(n, chunk_size):
    """Generic and quadratic kernels = softmax over all 2ⁿ states written out, to 1e-12 (float64)."""
    sk = SherringtonKirkpatrick.random(n, 1.4, h=0.3, seed=n) if n > 1 else None
    K = sk.beta * sk.couplings if sk else jnp.zeros((1, 1))
    b = sk.field if sk else jnp.array([0.3])
    log_weight = lambda s: 0.5 * jnp.sum((s @ K) * s, -1) + s @ b  # noqa: E731
    x = 1.5 * jax.random.normal(jax.random.PRNGKey(n), (4, n))
    for alpha, sigma in ((0.7, 0.6), (0.999, 0.05)):
        exact = brute_posterior_mean(log_weight, n, x, alpha, sigma)
        np.testing.assert_allclose(enumeration.posterior_mean(log_weight, n, x, alpha, sigma, chunk_size), exact, atol=1e-12)
        np.testing.assert_allclose(enumeration.quadratic_posterior_mean(enumeration.Quadratic(K, b), x, alpha, sigma,
                                                                        chunk_size), exact, atol=1e-12)
    if sk is not None:
        np.testing.assert_allclose(sk.posterior_mean(x, 0.7, 0.6), brute_posterior_mean(sk.log_weight, n, x, 0.7, 0.6),
                                   atol=1e-12)


def test_enumeration_kernel_falls_back_beyond_its_range_limit():
    """β = 400: the row range of ln w exceeds the float64 limit, the matmul kernel reports it, the element-wise kernel
    takes over (chosen on the host when called eagerly, by lax.cond inside a traced program) and the result still
    equals the dense softmax; float32 stays within 1e-5 of float64 at β = 3."""
    n = 10
    sk = SherringtonKirkpatrick.random(n, 400.0, seed=3)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, n))
    assert enumeration._low_bits(2**n, x.shape[0]) == 5
    log_w = np.asarray(sk.log_weight(jnp.asarray(spin_states(n, float)))).reshape(2**5, 2**5)  # rows: high spins
    block_range = np.max(log_w.max(1) - log_w.min(1))
    assert block_range > enumeration._range_limit(jnp.float64, n)
    exact = brute_posterior_mean(sk.log_weight, n, x, 0.7, 0.6)
    np.testing.assert_allclose(sk.posterior_mean(x, 0.7, 0.6), exact, atol=1e-12)  # eager: the kernel chosen on the host
    np.testing.assert_allclose(jax.jit(lambda y: sk.posterior_mean(y, 0.7, 0.6))(x), exact, atol=1e-12)  # lax.cond
    _, within_range = enumeration._quadratic_posterior_mean.default(sk.beta * sk.couplings, sk.field, x, 0.7, 0.6,
                                                                    enumeration.CHUNK_SIZE, "matmul")
    assert not bool(within_range)
    sk3 = SherringtonKirkpatrick.random(n, 3.0, seed=3)
    exact = np.asarray(brute_posterior_mean(sk3.log_weight, n, 3 * x, 0.7, 0.6))
    couplings32, x32 = np.asarray(3.0 * sk3.couplings, np.float32), np.asarray(3 * x, np.float32)
    with jax.enable_x64(False):
        quad = enumeration.Quadratic(jnp.asarray(couplings32), jnp.zeros(n, jnp.float32))
        got = enumeration.quadratic_posterior_mean(quad, jnp.asarray(x32), 0.7, 0.6)
        assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got, np.float64), exact, atol=1e-5)


def test_eager_enumeration_uses_fast_compile_options_for_small_calls_and_falls_back(monkeypatch):
    """Called eagerly with batch · 2ᴺ ≤ FAST_COMPILE_MAX_WORK, the denoiser runs the kernel jitted with
    FAST_COMPILE_OPTIONS (same result as XLA's defaults and the dense softmax), beyond it the default one; an XLA
    that rejects the options falls back to the defaults for good."""
    n = 10
    sk = SherringtonKirkpatrick.random(n, 1.5, seed=4)
    x = jax.random.normal(jax.random.PRNGKey(2), (4, n))
    exact = np.asarray(brute_posterior_mean(sk.log_weight, n, x, 0.7, 0.6))
    kernels, called = enumeration._quadratic_posterior_mean, []

    def recording(name, kernel):
        def call(*args):
            called.append(name)
            return kernel(*args)
        return call

    def run(fast_compile):
        called.clear()
        monkeypatch.setattr(enumeration, "_quadratic_posterior_mean",
                            enumeration._Kernels(recording("default", kernels.default), recording("fast", fast_compile)))
        return np.asarray(sk.posterior_mean(x, 0.7, 0.6))

    default = np.asarray(kernels.default(sk.beta * sk.couplings, sk.field, x, 0.7, 0.6, enumeration.CHUNK_SIZE,
                                         "matmul")[0])
    fast = run(kernels.fast_compile)
    assert called == ["fast"]
    np.testing.assert_allclose(fast, exact, atol=1e-12)
    np.testing.assert_allclose(fast, default, rtol=0, atol=1e-14)
    monkeypatch.setattr(enumeration, "FAST_COMPILE_MAX_WORK", x.shape[0] * 2**n - 1)
    run(kernels.fast_compile)
    assert called == ["default"]
    monkeypatch.setattr(enumeration, "FAST_COMPILE_MAX_WORK", x.shape[0] * 2**n)
    monkeypatch.setattr(enumeration, "_fast_compile_supported", [True])
    unknown = jax.jit(enumeration._quadratic_posterior_mean_fn, static_argnums=(5, 6),
                      compiler_options={"xla_no_such_option_in_any_version": True})
    np.testing.assert_allclose(run(unknown), exact, atol=1e-12)
    assert called == ["fast", "default"] and enumeration._fast_compile_supported == [False]
    run(unknown)
    assert called == ["default"]
