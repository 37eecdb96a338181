"""Learned scores on continuous targets: small MLPs trained by denoising score matching, with an optional
Fokker–Planck regulariser (`physics.fokker_planck`), checkpoints, and the score error against the exact score.

Networks. Both are MLPs (tanh) h_θ of [x, e(t)] with the time embedding e(t) = (ln σ_t, cos(πk t/T),
sin(πk t/T))_{k=1…K}, added to the score −x of N(0, I) (the law p_t tends to under VP noising), which keeps
the reverse dynamics contracting where the network has seen no data. Parameters are a flat dict
{"w0", "b0", "w1", …} of arrays (a pytree; a checkpoint is that dict in a NumPy .npz).
  - form "score": h_θ ∈ ℝⁿ, s_θ = −x − h_θ(x, t)/σ_t (`LearnedScore`);
  - form "log_density": a scalar h_θ, the log-density u_θ = −|x|²/2 + h_θ(x, t) (up to a function of t
    alone) and s_θ = ∇_x u_θ (`PotentialScore`): a network for u itself, as in Deveney et al.
    (arXiv 2311.15996).

Denoising score matching (Vincent 2011; Song et al. 2021, eq. 7 with λ(t) = σ_t²):
    L(θ) = E_{t ~ U(t_min, T), x₀ ~ data, ξ} ‖σ_t s_θ(α_t x₀ + σ_t ξ, t) + ξ‖².

Fokker–Planck regularisers (Deveney et al., arXiv 2311.15996; the residuals R_s and R_u are defined in
`physics.fokker_planck`), over noised data points x ~ p_t at independent uniform times: λ E[‖σ_t⁴ R_s‖²] for
the score form (σ_t⁴ makes the terms O(1) as t → 0, where s ~ 1/σ²), and λ E[R_u²] for the log-density form,
unweighted as in Deveney et al. (their weights λ = 0.1, 1, 10).
"""

from __future__ import annotations

import functools
import math
import pathlib
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from statphys.models.base import pytree_dataclass

from .fokker_planck import fp_residual, fp_residual_log_density
from .forward import noise_at
from .networks import time_embedding as _embed
from .schedules import Schedule
from .scores import as_pytree_callable

Array = Any


# ---- networks -----------------------------------------------------------------------------------------------
FP_FORMS = ("score", "log_density")


def init_mlp(key: Array, n: int, hidden: int = 64, depth: int = 2, num_freq: int = 4, out: int | None = None) -> dict:
    """Parameters of an MLP with inputs n + 1 + 2·num_freq, `depth` hidden layers of width `hidden`, and
    `out` outputs (default n: form "score"; 1: form "log_density")."""
    sizes = _layer_sizes(n, hidden, depth, num_freq, n if out is None else out)
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, sub = jax.random.split(key)
        params[f"w{i}"] = jax.random.normal(sub, (a, b)) / math.sqrt(a)
        params[f"b{i}"] = jnp.zeros(b)
    return params


def _layer_sizes(n: int, hidden: int, depth: int, num_freq: int, out: int) -> list[int]:
    """Widths of the MLP's layers, inputs first; raises ValueError unless all sizes are positive integers."""
    for name, value in (("n", n), ("hidden", hidden), ("depth", depth), ("num_freq", num_freq), ("out", out)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return [n + 1 + 2 * num_freq] + [hidden] * depth + [out]


def mlp_eps(params: dict, x: Array, t: Array, schedule: Schedule) -> Array:
    """The MLP h_θ at x of shape (batch, n) and a scalar t: shape (batch, out)."""
    depth = len(params) // 2
    num_freq = (params["w0"].shape[0] - x.shape[-1] - 1) // 2
    e = jnp.broadcast_to(_embed(t, schedule, num_freq), x.shape[:-1] + (1 + 2 * num_freq,))
    h = jnp.concatenate([x, e.astype(x.dtype)], axis=-1)
    for i in range(depth):
        h = h @ params[f"w{i}"] + params[f"b{i}"]
        if i < depth - 1:
            h = jnp.tanh(h)
    return h


@pytree_dataclass
class LearnedScore:
    """Form "score": s_θ(x, t) = −x − h_θ(x, t)/σ_t, a pytree-callable for `reverse_sample`; x (batch, n), scalar
    t → (batch, n). The parameters and the schedule are pytree children: a schedule whose class traces its fields
    (`physics.schedules`) is traced with them, so that one compiled function serves the networks of every T."""

    params: dict
    schedule: Schedule

    def __call__(self, x: Array, t: Array) -> Array:
        return -x - mlp_eps(self.params, x, t, self.schedule) / self.schedule.sigma(t)


@pytree_dataclass
class PotentialScore:
    """Form "log_density": u_θ(x, t) = −|x|²/2 + h_θ(x, t) and s_θ = ∇_x u_θ (Deveney et al., arXiv 2311.15996);
    x (batch, n), scalar t → (batch, n). Pytree children as in `LearnedScore`."""

    params: dict
    schedule: Schedule

    def log_density(self, x: Array, t: Array) -> Array:
        """u_θ(x, t) for x of shape (batch, n) and a scalar t: shape (batch,) (ln p_t up to a function of t)."""
        return -0.5 * jnp.sum(x**2, axis=-1) + mlp_eps(self.params, x, t, self.schedule)[..., 0]

    def __call__(self, x: Array, t: Array) -> Array:
        return jax.grad(lambda y: jnp.sum(self.log_density(y, t)))(x)


def learned_score(params: dict, schedule: Schedule, form: str = "score") -> LearnedScore | PotentialScore:
    """The score of trained parameters: `LearnedScore` (form "score") or `PotentialScore` ("log_density")."""
    _check_form(form)
    return LearnedScore(params, schedule) if form == "score" else PotentialScore(params, schedule)


def _check_form(form: str) -> None:
    if form not in FP_FORMS:
        raise ValueError(f"unknown fp_form {form!r}; choose one of {list(FP_FORMS)}")


# ---- training -----------------------------------------------------------------------------------------------
class TrainResult(NamedTuple):
    params: dict
    loss: Array  # (steps,) DSM loss (without the residual term)
    residual: Array  # (steps,) the regulariser's mean squared residual on the batch (zeros when fp_weight = 0)
    form: str = "score"  # "score" (network for s) or "log_density" (network for u)


def train(
    key: Array, target: Any, schedule: Schedule, *, steps: int = 1500, batch: int = 256, lr: float = 3e-3,
    hidden: int = 64, depth: int = 2, num_freq: int = 4, fp_weight: float = 0.0, fp_batch: int = 32,
    fp_form: str = "score", with_regulariser: bool | None = None,
) -> TrainResult:
    """Denoising score matching on fresh exact samples of `target` each step (Adam, cosine-decayed lr).

    fp_form "score": network for s, regulariser λ E‖σ_t⁴ R_s‖²; "log_density": network for u_θ,
    regulariser λ E[R_u²] (module docstring); both over fp_batch noised points at independent uniform times.
    fp_weight = λ ≥ 0 (λ = 0: plain score matching). with_regulariser: compile the regulariser into the training
    loop (default: when λ > 0); True for a sweep over λ that includes 0, so that one compiled loop trains every λ
    (at λ = 0 a `lax.cond` skips the regulariser: plain score matching, equal to the default's to float rounding).
    """
    for name, value in (("steps", steps), ("batch", batch), ("fp_batch", fp_batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not (fp_weight >= 0 and math.isfinite(fp_weight)):
        raise ValueError(f"fp_weight must be >= 0, got {fp_weight!r}")
    _check_form(fp_form)
    if with_regulariser is None:
        with_regulariser = fp_weight > 0
    elif fp_weight > 0 and not with_regulariser:
        raise ValueError(f"fp_weight = {fp_weight!r} > 0 needs the regulariser: with_regulariser must not be False")
    shape = {"n": target.n, "hidden": hidden, "depth": depth, "num_freq": num_freq,
             "out": target.n if fp_form == "score" else 1}
    _layer_sizes(**shape)
    params, dsm, res = _train(key, target, schedule, jnp.asarray(fp_weight, jnp.result_type(float)), lr=float(lr),
                              steps=steps, batch=batch, regularised=bool(with_regulariser), fp_batch=fp_batch, form=fp_form,
                              shape=tuple(shape.items()))
    return TrainResult(params, dsm, res, fp_form)


@functools.partial(jax.jit, static_argnames=("lr", "steps", "batch", "regularised", "fp_batch", "form", "shape"))
def _train(key, target, schedule, fp_weight, *, lr, steps, batch, regularised, fp_batch, form, shape):
    """The training loop of `train`, from the initialisation `init_mlp(**dict(shape))`. The target, the schedule
    (pytrees: the fields of an OU or VPLinear schedule are traced, `physics.schedules`) and the regulariser's
    weight are traced, so that one compiled loop trains every network of a sweep over them (with ``regularised``,
    λ = 0 included: the regulariser is a `lax.cond` on λ > 0); static: what fixes array shapes, the learning rate
    and the regulariser's form and presence in the program (``regularised``)."""
    k_init, k_run = jax.random.split(key)
    params = init_mlp(k_init, **dict(shape))
    opt = optax.adam(optax.cosine_decay_schedule(lr, steps))

    def losses(p, k):
        k_x, k_t, k_xi, k_r = jax.random.split(k, 4)
        score = learned_score(p, schedule, form)
        x0 = target.sample(k_x, batch)
        t = jax.random.uniform(k_t, (batch,), minval=schedule.t_min, maxval=schedule.T)
        xi = jax.random.normal(k_xi, x0.shape)
        sig = schedule.sigma(t)[:, None]
        xt = schedule.alpha(t)[:, None] * x0 + sig * xi
        s = jax.vmap(lambda xx, tt: score(xx[None], tt)[0])(xt, t)
        dsm = jnp.mean(jnp.sum((sig * s + xi) ** 2, axis=-1))
        if not regularised:
            return dsm, (dsm, 0.0)

        def mean_squared_residual(_):
            tr = jax.random.uniform(k_r, (fp_batch,), minval=schedule.t_min, maxval=schedule.T)
            xr = schedule.alpha(tr)[:, None] * x0[:fp_batch] + schedule.sigma(tr)[:, None] * xi[:fp_batch]
            if form == "score":
                r = schedule.sigma(tr)[:, None] ** 4 * fp_residual(score, schedule, xr, tr)
                return jnp.mean(jnp.sum(r**2, axis=-1))
            return jnp.mean(fp_residual_log_density(score.log_density, schedule, xr, tr) ** 2)

        res = jax.lax.cond(fp_weight > 0, mean_squared_residual, lambda _: jnp.zeros((), dsm.dtype), None)
        return dsm + fp_weight * res, (dsm, res)

    def body(carry, k):
        p, state = carry
        (_, (dsm, res)), grads = jax.value_and_grad(losses, has_aux=True)(p, k)
        updates, state = opt.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), (dsm, res)

    (params, _), (dsm, res) = jax.lax.scan(body, (params, opt.init(params)), jax.random.split(k_run, steps))
    return params, dsm, jnp.asarray(res) * jnp.ones(steps)


# ---- checkpoints ---------------------------------------------------------------------------------------------
def save_params(path: str | pathlib.Path, params: dict) -> None:
    """Write the flat parameter dict to a NumPy .npz file."""
    np.savez(path, **{k: np.asarray(v) for k, v in params.items()})


def load_params(path: str | pathlib.Path) -> dict:
    """Read a checkpoint written by `save_params`; checks the layer keys w0, b0, w1, … are complete."""
    with np.load(path) as data:
        params = {k: jnp.asarray(data[k]) for k in data.files}
    depth = len(params) // 2
    expected = {f"{p}{i}" for i in range(depth) for p in ("w", "b")}
    if set(params) != expected:
        raise ValueError(f"checkpoint {path} has keys {sorted(params)}, expected {sorted(expected)}")
    return params


# ---- diagnostics ---------------------------------------------------------------------------------------------
def score_error(key: Array, score_fn: Any, target: Any, schedule: Schedule, times: Array, num: int = 4096) -> Array:
    """E_{x ~ p_t} σ_t² ‖s_θ(x, t) − ∇ ln p_t(x)‖² at each of the times (T,), shape (T,) (`num` exact samples of
    p_t at time i from fold_in(key, i)). One compiled function serves every score, target, schedule and time
    of the same kinds and shapes."""
    if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
        raise ValueError(f"num must be a positive integer, got {num!r}")
    times = times if isinstance(times, jax.Array) else np.asarray(times)
    return _score_errors(key, as_pytree_callable(score_fn), target, schedule, times, num=num)


@functools.partial(jax.jit, static_argnames=("num",))
def _score_errors(key, score_fn, target, schedule, times, *, num):
    sigma2 = schedule.sigma(times) ** 2
    return sigma2 * jnp.mean(squared_score_errors(key, score_fn, target, schedule, times, num=num), axis=1)


@functools.partial(jax.jit, static_argnames=("num",))
def squared_score_errors(key: Array, score_fn: Any, target: Any, schedule: Schedule, times: Array, *,
                         num: int) -> Array:
    """‖s_θ(x, t) − ∇ ln p_t(x)‖² at `num` exact samples x ~ p_t (from fold_in(key, i) at the i-th time) of a
    target with an exact sampler and posterior mean (∇ ln p_t = (α_t E[x₀ | x] − x)/σ_t²): shape (len(times), num).
    score_fn, target and schedule are pytree arguments (wrap a plain callable with `scores.as_pytree_callable`):
    one compiled function serves every network, exact score and schedule of the same kinds."""
    def at(inputs):
        i, t = inputs
        k_x, k_xi = jax.random.split(jax.random.fold_in(key, i))
        alpha, sigma = schedule.alpha(t), schedule.sigma(t)
        x = noise_at(k_xi, target.sample(k_x, num), alpha, sigma)
        exact = (alpha * target.posterior_mean(x, alpha, sigma) - x) / sigma**2
        return jnp.sum((score_fn(x, t) - exact) ** 2, axis=-1)

    return jax.lax.map(at, (jnp.arange(times.shape[0]), times))
