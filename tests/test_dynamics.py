"""Schedules, forward SDE and reverse samplers against Gaussian closed forms; Curie–Weiss generation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import statphys.physics as physics
from statphys.models import CurieWeiss, Gaussian
from statphys.models.base import pytree_dataclass
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics.integrator import rk4_update

SCHEDULE_NAMES = ["ou", "vp_linear", "cosine", "cond_ot", "ve"]


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_sde_coefficients_follow_from_alpha_sigma(name):
    """f = d ln α/dt and g² = dσ²/dt − 2fσ², checked by central finite differences."""
    sch = make_schedule(name)
    t = jnp.linspace(0.1, 0.9, 5) * sch.T
    eps = 1e-6 * sch.T
    f_fd = (jnp.log(sch.alpha(t + eps)) - jnp.log(sch.alpha(t - eps))) / (2 * eps)
    s2_fd = (sch.sigma(t + eps) ** 2 - sch.sigma(t - eps) ** 2) / (2 * eps)
    np.testing.assert_allclose(sch.drift(t), f_fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sch.diffusion2(t), s2_fd - 2 * f_fd * sch.sigma(t) ** 2, rtol=1e-6, atol=1e-8)


def test_ou_has_unit_friction_and_g2_two():
    sch = make_schedule("ou")
    np.testing.assert_allclose(sch.drift(jnp.array([0.3, 2.0])), -1.0)
    np.testing.assert_allclose(sch.diffusion2(jnp.array([0.3, 2.0])), 2.0)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_forward_sde_reproduces_marginals(name):
    """Euler–Maruyama paths of dx = f x dt + g dW from x₀ ~ N(μ, v) have mean α μ and variance α² v + σ²."""
    sch = make_schedule(name)
    mu, v, num = 1.5, 0.25, 40_000
    x0 = mu + np.sqrt(v) * jax.random.normal(jax.random.PRNGKey(0), (num, 1))
    times = jnp.linspace(0.0, 0.6 * sch.T, 2001)
    path = physics.simulate_sde(jax.random.PRNGKey(1), x0, sch, times)
    for k in (500, 2000):
        t = times[k]
        mean, var = float(sch.alpha(t)) * mu, float(sch.alpha(t)) ** 2 * v + float(sch.sigma(t)) ** 2
        x = np.asarray(path[k, :, 0])
        assert abs(x.mean() - mean) < 5 * np.sqrt(var / num) + 2e-3 * np.sqrt(var)
        assert abs(x.var() - var) < 5 * var * np.sqrt(2 / num) + 2e-3 * var


@pytest.mark.parametrize("sampler", sorted(physics.SAMPLERS))
def test_reverse_samplers_reproduce_gaussian_moments(sampler):
    """Exact score, 400 steps: generated mean and covariance within statistical error + O(step) bias."""
    target = Gaussian(jnp.array([1.0, -0.5]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))
    sch = make_schedule("vp_linear")
    num = 20_000
    out = reverse_sample(jax.random.PRNGKey(2), ExactScore(target, sch), sch, num_steps=400, batch=num, n=2, sampler=sampler)
    x = np.asarray(out.x)
    cov = np.asarray(target.cov)
    np.testing.assert_allclose(x.mean(0), target.mean, atol=5 * np.sqrt(np.diag(cov) / num).max() + 0.02)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=5 * np.sqrt(2 / num) + 0.03)


@pytest.mark.parametrize("sampler", ["euler_maruyama", "ddpm", "pf_euler", "ddim"])
def test_variance_error_shrinks_with_step_size(sampler):
    """1-D N(0, 0.25): |generated variance − 0.25| falls when the number of steps grows 8×.

    Deterministic samplers are run from the same prior draws, stochastic ones with 200 000 paths."""
    target = Gaussian(jnp.zeros(1), jnp.array([[0.25]]))
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    errors = []
    for steps in (25, 200):
        out = reverse_sample(jax.random.PRNGKey(3), ExactScore(target, sch), sch, num_steps=steps, batch=200_000, n=1, sampler=sampler)
        errors.append(abs(float(np.var(np.asarray(out.x))) - 0.25))
    assert errors[1] < 0.5 * errors[0]


def test_observables_are_recorded_and_paths_only_on_request():
    target = CurieWeiss(16, 1.2)
    sch = make_schedule("ou", T=3.0)
    out = reverse_sample(
        jax.random.PRNGKey(4), ExactScore(target, sch), sch, num_steps=20, batch=8, n=16,
        observables={"m": physics.magnetization}, record_every=5,
    )
    assert out.observables["m"].shape == (5, 8)
    assert out.path is None and out.times.shape == (5,)
    np.testing.assert_allclose([out.times[0], out.times[-1]], [sch.T, sch.t_min])
    np.testing.assert_allclose(out.observables["m"][-1], jnp.mean(out.denoised, -1), rtol=1e-12)


def test_runs_are_reproducible_from_the_key():
    target = Gaussian(jnp.zeros(3), jnp.eye(3))
    sch = make_schedule("cosine")
    a = reverse_sample(jax.random.PRNGKey(5), ExactScore(target, sch), sch, num_steps=10, batch=4, n=3)
    b = reverse_sample(jax.random.PRNGKey(5), ExactScore(target, sch), sch, num_steps=10, batch=4, n=3)
    np.testing.assert_array_equal(a.x, b.x)


def test_curie_weiss_generation_matches_exact_law():
    """Reverse SDE with the exact score at small step size: TV between the generated M histogram and the
    exact P(M) is within 4 standard deviations of the TV that exact samples of the same size give."""
    n, num = 12, 4000
    target = CurieWeiss(n, 1.3)
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    out = reverse_sample(jax.random.PRNGKey(6), ExactScore(target, sch), sch, num_steps=400, batch=num, n=n, sampler="euler_maruyama")
    m_values, p = target.magnetization_law()
    M = np.sign(np.asarray(out.x)).sum(1)
    hist = np.array([(M == round(v * n)).mean() for v in m_values])
    tv = 0.5 * np.abs(hist - p).sum()
    rng = np.random.default_rng(0)
    null = [0.5 * np.abs(rng.multinomial(num, p) / num - p).sum() for _ in range(400)]
    assert tv < np.mean(null) + 4 * np.std(null)


@pytest.mark.parametrize("sampler", [pytest.param("pf_heun", marks=pytest.mark.slow), "ddim"])
def test_deterministic_samplers_need_and_get_a_log_grid(sampler):
    """PF-ODE and DDIM on spins: stiff near t = 0 (score scale σ² ≈ 2t); on the geometric grid the generated
    M histogram matches the exact law within 4 sd of the exact-sample TV floor."""
    n, num = 10, 3000
    target = CurieWeiss(n, 1.3)
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    out = reverse_sample(jax.random.PRNGKey(7), ExactScore(target, sch), sch, num_steps=100, batch=num, n=n,
                         sampler=sampler, spacing="log")
    m_values, p = target.magnetization_law()
    M = np.sign(np.asarray(out.x)).sum(1)
    tv = 0.5 * np.abs(np.array([(M == round(v * n)).mean() for v in m_values]) - p).sum()
    rng = np.random.default_rng(1)
    null = [0.5 * np.abs(rng.multinomial(num, p) / num - p).sum() for _ in range(400)]
    assert tv < np.mean(null) + 4 * np.std(null)


def test_nan_in_trajectory_is_reported_with_its_time():
    sch = make_schedule("ou")
    bad_score = lambda x, t: jnp.where(t < 2.0, jnp.nan, -x)  # noqa: E731
    with pytest.raises(FloatingPointError, match="non-finite state after step"):
        reverse_sample(jax.random.PRNGKey(0), bad_score, sch, num_steps=10, batch=2, n=2)
    # grid t_k = 5 - 0.4999 k: the score at t_7 ≈ 1.5 < 2 is the first NaN, so x_8 (t_8 ≈ 1.0008) is the first
    # bad state, whether the scan checks every step, every 5 steps or only at the end
    for record_every in (1, 5, 10):
        with pytest.raises(FloatingPointError, match=r"after step 8 of 10 \(t = 1\.0008"):
            reverse_sample(jax.random.PRNGKey(0), bad_score, sch, num_steps=10, batch=2, n=2, record_every=record_every)


@pytree_dataclass
class _ThresholdScore:
    """−x/scale, NaN below the time ``threshold``: a pure pytree score with array leaves to stack."""

    scale: jax.Array
    threshold: jax.Array

    def __call__(self, x, t):
        return jnp.where(t < self.threshold, jnp.nan, -x / self.scale)


def test_stacked_runs_are_the_single_runs_and_a_nan_names_its_run():
    """reverse_sample_stacked of three scores (leaves stacked on a leading axis) against reverse_sample of each with
    the same key: equal to rounding; a NaN in run 1 only is reported with that run and its first bad step."""
    from statphys.physics.trajectory import reverse_sample_stacked

    sch = make_schedule("ou")
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    scores = [_ThresholdScore(jnp.asarray(s), jnp.asarray(-1.0)) for s in (0.5, 1.0, 2.0)]
    kw = {"num_steps": 10, "batch": 4, "n": 3, "observables": {"m": physics.magnetization}, "record_every": 5}
    stacked = reverse_sample_stacked(keys, jax.tree_util.tree_map(lambda *a: jnp.stack(a), *scores), sch, **kw)
    for d, score in enumerate(scores):
        single = reverse_sample(keys[d], score, sch, **kw)
        np.testing.assert_allclose(np.asarray(stacked.x[d]), np.asarray(single.x), rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.asarray(stacked.observables["m"][d]), np.asarray(single.observables["m"]),
                                   rtol=0, atol=1e-12)
    bad = _ThresholdScore(jnp.ones(3), jnp.asarray([-1.0, 2.0, -1.0]))  # as the test above: x_8 the first bad state
    with pytest.raises(FloatingPointError, match=r"after step 8 of 10 of run 1 of 3 \(t = 1\.0008"):
        reverse_sample_stacked(keys, bad, sch, **kw)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_schedule("linear"), "unknown schedule"),
        (lambda: make_schedule("ou", Tmax=3.0), "no parameter"),
        (lambda: make_schedule("ou", T=-1.0), "T"),
        (lambda: make_schedule("ve", sigma_min=2.0, sigma_max=1.0), "sigma_min"),
        (lambda: physics.get_sampler("leapfrog"), "unknown sampler"),
        (lambda: make_schedule("ou").time_grid(10, "cubic"), "unknown time spacing"),
        (lambda: reverse_sample(jax.random.PRNGKey(0), lambda x, t: -x, make_schedule("ou"), num_steps=10, batch=2, n=2, record_every=3), "record_every"),
    ],
)
def test_bad_dynamics_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("batch", [0, -3])
def test_reverse_sample_refuses_a_nonpositive_batch(batch):
    target = CurieWeiss(n=8, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=batch, n=8)


def test_reverse_sample_refuses_a_state_size_other_than_the_targets():
    target = CurieWeiss(n=8, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(ValueError, match="n = 6 components but the score's target has n = 8"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=2, n=6)
    with pytest.raises(ValueError, match="n = 5 components"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4,
                       x_init=jnp.zeros((3, 5)))


def test_reverse_sample_refuses_what_exceeds_the_memory_before_any_compute():
    target = CurieWeiss(n=10**9, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(MemoryError, match=r"batch = 1024, n = 1000000000 needs about .* GiB"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=1024,
                       n=10**9)


KEPT_TARGET = Gaussian(jnp.array([0.5, -1.0]), jnp.array([[0.6, 0.2], [0.2, 0.3]]))


def _step_from_info(sampler, sch, x, t, s, score, noise):
    """x_s from x_t and the kept Info, by the update rules of the physics.samplers docstring (written out here)."""
    f, g2, dt = sch.drift(t), sch.diffusion2(t), t - s
    a_t, s_t, a_s, s_s = sch.alpha(t), sch.sigma(t), sch.alpha(s), sch.sigma(s)
    denoised = (x + s_t**2 * score) / a_t
    if sampler == "euler_maruyama":
        return x - (f * x - g2 * score) * dt + np.sqrt(g2 * dt) * noise
    if sampler == "ddpm":
        a_ts = a_t / a_s
        var = s_t**2 - a_ts**2 * s_s**2
        return (a_ts * s_s**2 * x + a_s * var * denoised) / s_t**2 + np.sqrt(var * s_s**2 / s_t**2) * noise
    if sampler == "pf_euler":
        return x - (f * x - 0.5 * g2 * score) * dt
    return a_s * denoised + s_s * (x - a_t * denoised) / s_t  # ddim


@pytest.mark.parametrize("sampler", ["euler_maruyama", "ddpm", "pf_euler", "ddim"])
def test_kept_info_reproduces_the_path(sampler):
    """reverse_sample(keep_info=True): Info_k holds the score at (x_k, t_k) and the noise ξ_k of step k, so that
    x_{k+1} recomputed from (x_k, Info_k) by the sampler's update rule is the scan's x_{k+1}; deterministic samplers
    keep ξ = 0; keeping the Info changes nothing in the run. A kept noise shifted by one step, or the score of
    another point, breaks the first assertion by O(1)."""
    sch = make_schedule("vp_linear")
    score = ExactScore(KEPT_TARGET, sch)
    kw = dict(num_steps=12, batch=64, n=2, sampler=sampler, record_every=1, record_path=True)
    out = reverse_sample(jax.random.PRNGKey(11), score, sch, keep_info=True, **kw)
    plain = reverse_sample(jax.random.PRNGKey(11), score, sch, **kw)
    times = np.asarray(sch.time_grid(12))
    path, info = np.asarray(out.path), out.info
    assert info.score.shape == info.noise.shape == (12, 64, 2) and plain.info is None
    np.testing.assert_array_equal(np.asarray(out.x), np.asarray(plain.x))
    for k in range(12):
        np.testing.assert_allclose(np.asarray(info.score[k]), np.asarray(score(path[k], times[k])), rtol=1e-12)
        x_next = _step_from_info(sampler, sch, path[k], times[k], times[k + 1], np.asarray(info.score[k]),
                                 np.asarray(info.noise[k]))
        np.testing.assert_allclose(x_next, path[k + 1], rtol=1e-10, atol=1e-12)
    if sampler in physics.samplers.STOCHASTIC:
        z = np.asarray(info.noise).ravel()  # the kept noise is standard normal
        assert abs(z.mean()) < 4 / np.sqrt(z.size) and abs(z.var() - 1) < 4 * np.sqrt(2 / z.size)
    else:
        assert not np.any(np.asarray(info.noise))


def test_pytree_dataclasses_are_told_apart_by_class():
    """Tree structures of two pytree_dataclass classes with the same fields differ (a jit cache keys its programs on
    them; jax's register_dataclass structures compare equal across such classes), those of one class with equal
    static fields are equal, with different static fields differ; flatten/unflatten round-trips, attribute key
    paths."""

    @pytree_dataclass(static=("name",))
    class First:
        value: object
        name: str

    @pytree_dataclass(static=("name",))
    class Second:
        value: object
        name: str

    first, second = First(jnp.ones(2), "a"), Second(jnp.ones(2), "a")
    assert jax.tree.structure(first) != jax.tree.structure(second)
    assert jax.tree.structure(first) == jax.tree.structure(First(jnp.zeros(2), "a"))
    assert jax.tree.structure(first) != jax.tree.structure(First(jnp.ones(2), "b"))
    leaves, tree = jax.tree.flatten(first)
    rebuilt = jax.tree.unflatten(tree, [2 * leaf for leaf in leaves])
    assert type(rebuilt) is First and rebuilt.name == "a"
    np.testing.assert_array_equal(rebuilt.value, 2.0)
    (path, _), = jax.tree_util.tree_flatten_with_path(first)[0]
    assert path == (jax.tree_util.GetAttrKey("value"),)


@pytree_dataclass(static=("schedule",))
class CountingScore:
    """A stateful score: the exact score, and a state counting the evaluations and summing a uniform draw from the
    key of each (so that the keys it is given can be checked)."""

    target: object
    schedule: object

    def init(self, key, x, t):
        return jnp.zeros((), jnp.int32), jnp.zeros(())

    def __call__(self, key, x, t, state):
        count, draws = state
        return ExactScore(self.target, self.schedule)(x, t), (count + 1, draws + jax.random.uniform(key))


@pytest.mark.parametrize("sampler, per_step", [("euler_maruyama", 1), ("pf_heun", 2)])
def test_a_stateful_score_rides_in_the_scan_carry(sampler, per_step):
    """The state of a stateful score is threaded through every evaluation (per_step per step and the final one at
    t_min) and returned; its keys are fold_in(fold_in(key, k), i); the sampler's noise is unchanged (same path as
    the pure exact score)."""
    sch = make_schedule("ou", T=2.0)
    kw = dict(num_steps=7, batch=5, n=2, sampler=sampler)
    key = jax.random.PRNGKey(12)
    out = reverse_sample(key, CountingScore(KEPT_TARGET, sch), sch, **kw)
    pure = reverse_sample(key, ExactScore(KEPT_TARGET, sch), sch, **kw)
    np.testing.assert_array_equal(np.asarray(out.x), np.asarray(pure.x))
    count, draws = out.score_state
    assert int(count) == 7 * per_step + 1 and pure.score_state is None
    keys = [jax.random.fold_in(jax.random.fold_in(key, k), i) for k in range(7) for i in range(1, per_step + 1)]
    keys.append(jax.random.fold_in(jax.random.fold_in(key, 7), 1))
    np.testing.assert_allclose(float(draws), sum(float(jax.random.uniform(k)) for k in keys), rtol=1e-12)


def test_rk4_update_is_fourth_order():
    """dx/du = u x on [0, 1] (x(1) = e^{1/2}): doubling the number of RK4 steps divides the global error by 2⁴,
    up to O(h) (measured log₂ ratio 4.09); a wrong stage weight makes the method first or second order."""

    def error(num):
        x, h = jnp.asarray(1.0), 1.0 / num
        for k in range(num):
            x = rk4_update(lambda y, u: u * y, x, k * h, h)
        return abs(float(x) - np.exp(0.5))

    assert abs(np.log2(error(10) / error(20)) - 4) < 0.15


def test_standard_normal_is_jax_random_normal_bit_for_bit():
    """`normal_draws.standard_normal` (Threefry-2x32 written out, Salmon et al. SC '11) returns exactly the numbers of
    jax.random.normal for raw and typed threefry keys, odd shapes and under vmap (an error in one round, rotation
    or key-schedule word changes every bit); an rbg key goes to jax.random.normal."""
    from statphys.physics.normal_draws import standard_normal

    key = jax.random.PRNGKey(11)
    draw = jax.jit(standard_normal, static_argnums=(1, 2))
    for k in range(3):
        raw = jax.random.fold_in(key, k)
        for shape in [(1,), (7, 3), (2, 5, 9)]:
            expected = np.asarray(jax.random.normal(raw, shape, jnp.float32))
            np.testing.assert_array_equal(np.asarray(draw(raw, shape, jnp.float32)), expected)
            np.testing.assert_array_equal(np.asarray(draw(jax.random.wrap_key_data(raw), shape, jnp.float32)),
                                          expected)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(4))
    np.testing.assert_array_equal(np.asarray(jax.vmap(lambda k: standard_normal(k, (33,), jnp.float32))(keys)),
                                  np.asarray(jax.vmap(lambda k: jax.random.normal(k, (33,), jnp.float32))(keys)))
    rbg = jax.random.key(3, impl="rbg")
    np.testing.assert_array_equal(np.asarray(standard_normal(rbg, (5,), jnp.float32)),
                                  np.asarray(jax.random.normal(rbg, (5,), jnp.float32)))
