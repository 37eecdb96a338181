"""Noise schedules: x_t = α(t) x₀ + σ(t) ξ, and the forward SDE dx = f(t) x dt + g(t) dW they define.

A schedule is data: α(t) and σ(t) in closed form, with the diffusion time T and the small time t_min where
reverse runs stop. The SDE coefficients are derived once, by automatic differentiation, so that x_t = α x₀ + σ ξ solves
dx = f x dt + g dW (Song et al., ICLR 2021; Kingma et al., NeurIPS 2021, "Variational diffusion models"):
    f(t) = d ln α / dt,      g(t)² = dσ²/dt − 2 f(t) σ².
Schedules are frozen dataclasses, hashable (compile-time constants where a jitted function takes one as a static
argument) and pytrees. As a pytree, a schedule whose class sets ``traced_fields`` (OU, VPLinear) has its field
values as leaves: traced, so that one compiled function serves every schedule of the class, e.g. every point of
a sweep over the diffusion time T or over β_min, β_max. The other classes keep them in the tree structure
(compile-time constants, as for a static argument).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

Array = Any


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Base class: subclasses define ``alpha`` and ``sigma`` and the fields T, t_min."""

    T: float = 1.0
    t_min: float = 1e-3
    name: ClassVar[str] = ""
    traced_fields: ClassVar[bool] = False  # as a pytree: field values traced (True) or compile-time constants

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_node(cls, _schedule_values, functools.partial(_schedule_from_values, cls))

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"schedule {self.name!r}: {field.name} must be a finite number, got {value!r}")
        if self.T <= 0:
            raise ValueError(f"schedule {self.name!r}: T (diffusion time) must be > 0, got {self.T}")
        if not 0 < self.t_min < self.T:
            raise ValueError(f"schedule {self.name!r}: t_min must be in (0, T = {self.T}), got {self.t_min}")

    def alpha(self, t: Array) -> Array:
        raise NotImplementedError

    def sigma(self, t: Array) -> Array:
        return jnp.sqrt(self.sigma2(t))

    def sigma2(self, t: Array) -> Array:
        """σ(t)²; VP schedules define it directly so that its derivative is finite at t = 0."""
        return self.sigma(t) ** 2

    def drift(self, t: Array) -> Array:
        """f(t) = d ln α/dt."""
        return _derivative(lambda s: jnp.log(self.alpha(s)), t)

    def diffusion2(self, t: Array) -> Array:
        """g(t)² = dσ²/dt − 2 f σ²."""
        return _derivative(self.sigma2, t) - 2 * self.drift(t) * self.sigma2(t)

    def transition(self, t: Array, s: Array) -> tuple[Array, Array]:
        """(α_{s|t}, σ_{s|t}) of the forward transition x_s = α_{s|t} x_t + σ_{s|t} ξ for s > t."""
        a = self.alpha(s) / self.alpha(t)
        return a, jnp.sqrt(jnp.maximum(self.sigma(s) ** 2 - a**2 * self.sigma(t) ** 2, 0.0))

    def time_grid(self, num_steps: int, spacing: str = "uniform") -> Array:
        """num_steps + 1 times from the start time T down to t_min (the reverse-time grid).

        spacing "uniform": equal steps in t; "log": geometric, t_k = T (t_min/T)^{k/K}, so that Δt/t is
        constant — the PF-ODE and DDIM on discrete data are stiff near t = 0 (the score varies on the scale
        σ_t² ≈ 2t) and need it.
        """
        if not isinstance(num_steps, int) or num_steps <= 0:
            raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
        if spacing not in TIME_SPACINGS:
            raise ValueError(f"unknown time spacing {spacing!r}; choose one of {list(TIME_SPACINGS)}")
        start = self.start_time
        if spacing == "uniform":
            return jnp.linspace(start, self.t_min, num_steps + 1)
        return jnp.geomspace(start, self.t_min, num_steps + 1)

    @property
    def start_time(self) -> float:
        """Where reverse runs start: T, or just below it where α(T) = 0 would make the drift infinite."""
        return self.T


TIME_SPACINGS = ("uniform", "log")


def _schedule_values(schedule: Schedule) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    values = tuple(getattr(schedule, field.name) for field in dataclasses.fields(schedule))
    return (values, None) if schedule.traced_fields else ((), values)


def _schedule_from_values(cls: type[Schedule], constants: tuple[Any, ...] | None, leaves: tuple[Any, ...]) -> Schedule:
    """The schedule with these field values (numbers, tracers or pytree placeholders), without the checks of the
    constructor: they ran when the schedule that was flattened was built."""
    values = leaves if constants is None else constants
    schedule = object.__new__(cls)
    for field, value in zip(dataclasses.fields(cls), values):
        object.__setattr__(schedule, field.name, value)
    return schedule


def _derivative(fn, t):
    t = jnp.asarray(t, dtype=float)
    return jnp.vectorize(jax.grad(fn))(t)


@dataclasses.dataclass(frozen=True)
class OrnsteinUhlenbeck(Schedule):
    """Time-homogeneous VP: α = e^{−t}, σ² = 1 − e^{−2t} (f = −1, g² = 2)."""

    T: float = 5.0
    name: ClassVar[str] = "ou"
    traced_fields: ClassVar[bool] = True  # α, σ, f, g² do not involve T or t_min

    def alpha(self, t):
        return jnp.exp(-t)

    def sigma2(self, t):
        return -jnp.expm1(-2 * t)


@dataclasses.dataclass(frozen=True)
class VPLinear(Schedule):
    """VP with β(t) = β_min + (β_max − β_min) t/T: α = exp(−½∫₀ᵗβ), σ² = 1 − α² (Song et al. 2021)."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    name: ClassVar[str] = "vp_linear"
    traced_fields: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        if self.beta_min < 0 or self.beta_max < self.beta_min:
            raise ValueError(f"schedule 'vp_linear': need 0 <= beta_min <= beta_max, got {self.beta_min}, {self.beta_max}")

    def _integral(self, t):
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2 / self.T

    def alpha(self, t):
        return jnp.exp(-0.5 * self._integral(t))

    def sigma2(self, t):
        return -jnp.expm1(-self._integral(t))


@dataclasses.dataclass(frozen=True)
class Cosine(Schedule):
    """Nichol & Dhariwal (2021): ᾱ(t) = cos²(((t/T)+s)/(1+s)·π/2)/cos²(s/(1+s)·π/2), α = √ᾱ, σ = √(1−ᾱ)."""

    s: float = 0.008
    t_max_fraction: ClassVar[float] = 0.9999
    name: ClassVar[str] = "cosine"

    def _abar(self, t):
        f = lambda u: jnp.cos((u / self.T + self.s) / (1 + self.s) * jnp.pi / 2)  # noqa: E731
        return (f(t) / f(0.0)) ** 2

    def alpha(self, t):
        return jnp.sqrt(self._abar(t))

    def sigma2(self, t):
        return 1 - self._abar(t)

    @property
    def start_time(self) -> float:
        return self.T * self.t_max_fraction


@dataclasses.dataclass(frozen=True)
class CondOT(Schedule):
    """Conditional optimal transport (flow matching): α = 1 − t/T, σ = t/T."""

    name: ClassVar[str] = "cond_ot"

    def alpha(self, t):
        return 1 - t / self.T

    def sigma(self, t):
        return t / self.T

    @property
    def start_time(self) -> float:
        return self.T * Cosine.t_max_fraction


@dataclasses.dataclass(frozen=True)
class VE(Schedule):
    """Variance exploding: α = 1, σ = σ_min (σ_max/σ_min)^{t/T} (Song et al. 2021)."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0
    name: ClassVar[str] = "ve"

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.sigma_min < self.sigma_max:
            raise ValueError(f"schedule 've': need 0 < sigma_min < sigma_max, got {self.sigma_min}, {self.sigma_max}")

    def alpha(self, t):
        return jnp.ones_like(jnp.asarray(t, dtype=float))

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** (t / self.T)


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (OrnsteinUhlenbeck, VPLinear, Cosine, CondOT, VE)
}


def make_schedule(name: str, **params: Any) -> Schedule:
    """Schedule by name; unknown names or parameters raise ValueError listing what is allowed."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    cls = SCHEDULES[name]
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"schedule {name!r} has no parameter(s) {unknown}; allowed: {allowed}")
    return cls(**params)


@jax.jit
def noise_levels(schedule: Schedule, t: Array) -> tuple[Array, Array]:
    """(α(t), σ(t)) of ``schedule`` (a pytree argument) at the times t, as one compiled function: outside jit,
    schedule.alpha and schedule.sigma run op by op and each operation is one more compiled module per process."""
    return schedule.alpha(t), schedule.sigma(t)
