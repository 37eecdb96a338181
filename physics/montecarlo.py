"""Single-spin-flip Monte Carlo for pairwise Ising targets: Metropolis and heat-bath sweeps, chains of sweeps.

Generic target (any model in the form, e.g. SK, Hopfield, Edwards–Anderson, Curie–Weiss with J = (11ᵀ − I)/N):
    ln P(s) = β E_J(s) + b·s + const,   E_J(s) = ½ sᵀJs,
J symmetric with zero diagonal, b the field (n,) or per chain (chains, n), β a scalar or one per chain. J is a dense
(n, n) array or, for sparse couplings (Edwards–Anderson on a lattice, z bonds per spin), a `NeighbourCouplings`
table of the z non-zero entries of every row, or, for couplings of rank K (Hopfield: J = ξᵀξ/N without its
diagonal), a `PatternCouplings` of the K columns P with J = P Pᵀ − diag(P Pᵀ).
The field is not multiplied by β (the package's convention, as in CurieWeiss), so a posterior
P(s | x_t) ∝ P(s) exp(α x·s/σ²) is the same model with b → b + α x/σ².

Kernel. Each chain stores its spins s and coupling fields g = J s; flipping spin i changes
ln P by Δ_i = −2 s_i (β g_i + b_i). Metropolis accepts with min(1, e^{Δ_i}); heat bath sets s_i = +1 with
probability 1/(1 + e^{−2(β g_i + b_i)}). Dense J: after a flip g ← g + (s_i' − s_i) J[:, i], O(N) per flip,
O(N²) per sweep. `NeighbourCouplings` table (z bonds per spin): g_i = Σ_k J_{i, j_k} s_{j_k} is summed over the
z neighbours when spin i is proposed and g = J s recomputed once after the sweep, O(z) per flip, O(N z) per sweep
(a scatter-add of the z entries of J[:, i] after every flip costs as much as the dense column on XLA's CPU
backend). `PatternCouplings` (rank K): a sweep carries the overlaps o = Pᵀ s (K per chain) instead of g, so that
g_i = P_i·o − d_i s_i with d_i = Σ_μ P_iμ² when spin i is proposed and o ← o + (s_i' − s_i) P_i after a flip, O(K)
per flip; g = J s recomputed after the sweep, O(N K) (Hopfield's energy through its K Mattis
overlaps). Every form runs the same code on the same random sites and uniforms; where g = J s
is exact in floating point (integer bonds, e.g. EA ±J) they give the same chains bit for bit, otherwise the same
to rounding.
A sweep is N updates at independently uniform random sites (random-site Metropolis is aperiodic even at β = 0,
where a sequential sweep would not be). Chains are the leading axis of every array; disorder
samples are vmapped over by the caller.

Level bias (`LevelBias`, umbrella sampling): ln P(s) + b_c[K(s)] with K(s) = #(sᵢ = rᵢ), the number of spins
equal to a reference r, and b_c any table over the levels K = 0..N (one per chain). Only a bias quadratic in K
is a coupling r rᵀ plus a field; a tabulated one (a multicanonical −ln P(K) estimate) is not, so it enters the
kernel as an extra local field: with K₋ᵢ the level without spin i,
    ℓᵢ = β gᵢ + bᵢ + ½ (b_c[K₋ᵢ + (1 + rᵢ)/2] − b_c[K₋ᵢ + (1 − rᵢ)/2]),
the half log-ratio of the weights of sᵢ = +1 and sᵢ = −1, which both rules use in place of β gᵢ + bᵢ.

Parallel tempering of these chains: `physics.tempering`; the Monte-Carlo denoiser E[s | x_t] with its error bar:
`physics.mc_posterior`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

Array = Any

RULES = ("metropolis", "heat_bath")


class NeighbourCouplings(NamedTuple):
    """Sparse symmetric couplings: J_{i, neighbours[i, k]} = values[i, k], every other entry 0.

    neighbours (n, z) int32 and values (n, z) float (a leading disorder axis (D, n, z) is allowed where couplings
    are stacked); a row with fewer than z bonds is padded with its own index and the value 0. ``shape`` and
    ``dtype`` are those of the dense matrix it stands for, (n, n) (or (D, n, n)). Build it with `from_dense`.
    """

    neighbours: Array
    values: Array

    @property
    def shape(self) -> tuple:
        return tuple(self.neighbours.shape[:-1]) + (self.neighbours.shape[-2],)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self):
        return self.values.dtype

    @classmethod
    def from_dense(cls, couplings: Array) -> "NeighbourCouplings":
        """The non-zero entries of a dense symmetric J (n, n) (or stacked (D, n, n)), in increasing column order,
        z = the largest number of non-zero entries of a row. O(N²) once, in numpy."""
        J = np.asarray(couplings, dtype=float)
        if J.ndim == 3:
            tables = [cls.from_dense(a) for a in J]
            z = max(t.neighbours.shape[1] for t in tables)
            tables = [_pad(t, z) for t in tables]
            return cls(jnp.stack([t.neighbours for t in tables]), jnp.stack([t.values for t in tables]))
        check_model(J, 0.0)
        n = J.shape[0]
        nonzero = J != 0
        z = max(int(nonzero.sum(1).max()), 1)
        order = np.argsort(~nonzero, axis=1, kind="stable")[:, :z]  # non-zero columns first, in increasing order
        keep = np.take_along_axis(nonzero, order, 1)
        neighbours = np.where(keep, order, np.arange(n)[:, None]).astype(np.int32)
        values = np.where(keep, np.take_along_axis(J, order, 1), 0.0)
        return cls(jnp.asarray(neighbours), jnp.asarray(values))

    def dense(self) -> Array:
        """The dense matrix J (n, n) (or (D, n, n)), O(N²) memory."""
        n = self.neighbours.shape[-2]
        rows = jnp.broadcast_to(jnp.arange(n)[:, None], self.neighbours.shape[-2:])

        def one(nbr, val):
            return jnp.zeros((n, n), val.dtype).at[rows, nbr].add(val)

        return one(*self) if self.neighbours.ndim == 2 else jax.vmap(one)(*self)


class PatternCouplings(NamedTuple):
    """Couplings of rank K: J = P Pᵀ − diag(P Pᵀ), i.e. J_ij = Σ_μ P_iμ P_jμ for i ≠ j and J_ii = 0 (Hopfield:
    P = ξᵀ/√N for patterns ξ (K, n), J = ξᵀξ/N with a zero diagonal).

    patterns P (n, K) (a leading disorder axis (D, n, K) is allowed where couplings are stacked). ``shape`` and
    ``dtype`` are those of the dense matrix it stands for, (n, n) (or (D, n, n)).
    """

    patterns: Array

    @property
    def shape(self) -> tuple:
        return tuple(self.patterns.shape[:-1]) + (self.patterns.shape[-2],)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self):
        return self.patterns.dtype

    def dense(self) -> Array:
        """The dense matrix J (n, n) (or (D, n, n)), O(N²) memory."""
        gram = self.patterns @ jnp.swapaxes(self.patterns, -1, -2)
        return gram - jnp.eye(self.patterns.shape[-2], dtype=gram.dtype) * gram


def _self_coupling(couplings: PatternCouplings) -> Array:
    """d_i = Σ_μ P_iμ², the diagonal that J leaves out, (n,)."""
    return jnp.sum(couplings.patterns**2, axis=-1)


def _pad(table: NeighbourCouplings, z: int) -> NeighbourCouplings:
    """A table padded to z columns with self-indices and zeros."""
    n, extra = table.neighbours.shape[0], z - table.neighbours.shape[1]
    self_index = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32)[:, None], (n, extra))
    return NeighbourCouplings(jnp.concatenate([table.neighbours, self_index], 1),
                              jnp.concatenate([table.values, jnp.zeros((n, extra), table.values.dtype)], 1))


def as_couplings(couplings: Array, dtype=None) -> Array:
    """Dense J as a jnp array, or a `NeighbourCouplings` / `PatternCouplings` with jnp arrays, values in ``dtype``
    (default: float)."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    if isinstance(couplings, PatternCouplings):
        return PatternCouplings(jnp.asarray(couplings.patterns, dtype))
    if isinstance(couplings, NeighbourCouplings):
        return NeighbourCouplings(jnp.asarray(couplings.neighbours, jnp.int32), jnp.asarray(couplings.values, dtype))
    return jnp.asarray(couplings, dtype=dtype)


def couplings_dtype(couplings: Array):
    """The floating dtype of the chains for couplings J (dense, `NeighbourCouplings` or `PatternCouplings`):
    result_type(J, float)."""
    if isinstance(couplings, PatternCouplings):
        return jnp.result_type(couplings.patterns, float)
    return jnp.result_type(couplings.values if isinstance(couplings, NeighbourCouplings) else couplings, float)


def coupling_field(couplings: Array, spins: Array) -> Array:
    """g = J s for spins (chains, n): a matmul, O(N²) per chain, a gather-sum over the z neighbours, O(N z), or
    P (Pᵀ s) − d s for couplings of rank K, O(N K)."""
    if isinstance(couplings, NeighbourCouplings):
        return jnp.sum(spins[:, couplings.neighbours] * couplings.values, axis=-1)
    if isinstance(couplings, PatternCouplings):
        return (spins @ couplings.patterns) @ couplings.patterns.T - spins * _self_coupling(couplings)
    return spins @ couplings


def _site_field(couplings: Array, spins: Array, g: Array, sites: Array, spin_at_sites: Array,
                self_coupling: Array | None) -> Array:
    """(J s_c)_{i_c} for every chain c, (chains,): read off the carried g (dense J, O(1)), summed over the z
    neighbours of i_c (`NeighbourCouplings`, O(z): Σ_k values[i, k] s[neighbours[i, k]]), or P_{i_c}·o_c −
    d_{i_c} s_{c, i_c} from the carried overlaps o = Pᵀ s (`PatternCouplings`, O(K)); spin_at_sites is s_{c, i_c},
    self_coupling the d of `_self_coupling` (computed once per sweep, not per proposal)."""
    rows = jnp.arange(spins.shape[0])
    if isinstance(couplings, NeighbourCouplings):
        return jnp.sum(spins[rows[:, None], couplings.neighbours[sites]] * couplings.values[sites], axis=-1)
    if isinstance(couplings, PatternCouplings):
        return jnp.sum(couplings.patterns[sites] * g, axis=-1) - self_coupling[sites] * spin_at_sites
    return g[rows, sites]


def _flip_field(g: Array, couplings: Array, sites: Array, change: Array) -> Array:
    """g after spin i_c of chain c changed by change_c: g + change_c J[:, i_c] (dense J, O(N) per chain); with a
    `NeighbourCouplings` table g is not carried through a sweep (`_site_field`; g is None) and `_sweep_field`
    recomputes it once per sweep; with `PatternCouplings` the carried overlaps o + change_c P_{i_c} (O(K))."""
    if isinstance(couplings, NeighbourCouplings):
        return g
    if isinstance(couplings, PatternCouplings):
        return g + change[:, None] * couplings.patterns[sites]
    return g + change[:, None] * couplings[sites]


def _sweep_carry(couplings: Array, spins: Array, g: Array) -> Array:
    """What a sweep carries for the site fields: g (dense J), nothing (neighbour table), o = Pᵀ s (patterns)."""
    if isinstance(couplings, NeighbourCouplings):
        return None
    if isinstance(couplings, PatternCouplings):
        return spins @ couplings.patterns
    return g


def _sweep_field(couplings: Array, spins: Array, g: Array) -> Array:
    """g = J s at the end of a sweep: the carried g (dense J), or `coupling_field` (neighbour table, O(N z);
    patterns, O(N K))."""
    return coupling_field(couplings, spins) if isinstance(couplings, NeighbourCouplings | PatternCouplings) else g


class ChainState(NamedTuple):
    spins: Array  # (chains, n), ±1 floats
    coupling_field: Array  # (chains, n), g = J s


class SweepInfo(NamedTuple):
    acceptance: Array  # (chains,), fraction of the N proposals that flipped a spin
    level_visits: Array | None = None  # with a LevelBias: (chains, N+1) counts of K(s) after each of the N proposals


class LevelBias(NamedTuple):
    """A factor exp(log_bias[c, K(s)]) on the law of chain c, K(s) = #(sᵢ = referenceᵢ) (module docstring)."""

    reference: Array  # (n,) ±1
    log_bias: Array  # (chains, n + 1), finite


def overlap_level(spins: Array, reference: Array) -> Array:
    """K = #(sᵢ = rᵢ) = (s·r + N)/2 per chain: spins (chains, n), reference (n,) -> (chains,) int32."""
    return jnp.round((spins @ reference + spins.shape[-1]) / 2).astype(jnp.int32)


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


def check_model(couplings: Array, beta: Array) -> None:
    """couplings J (n, n) square, symmetric, zero diagonal (dense, or a `NeighbourCouplings` table: `_check_table`);
    beta β ≥ 0, a scalar or (chains,) (checked on concrete values only)."""
    if isinstance(couplings, NeighbourCouplings):
        _check_table(couplings)
    elif isinstance(couplings, PatternCouplings):
        _check_patterns(couplings.patterns)
    else:
        _check_dense(couplings if isinstance(couplings, jax.Array) else np.asarray(couplings))
    if not isinstance(beta, jax.core.Tracer):
        b = np.asarray(beta)
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            raise ValueError(f"beta must be finite and >= 0, got {beta!r}")


def _check_dense(J: Array) -> None:
    """A dense J: square, and on concrete values finite, symmetric (to 1e-10), with a zero diagonal."""
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"couplings must be a square (n, n) matrix, got shape {J.shape}")
    if not isinstance(J, jax.core.Tracer):
        a = np.asarray(J)
        if not np.all(np.isfinite(a)) or not np.allclose(a, a.T, rtol=0, atol=1e-10) or np.any(np.diag(a) != 0):
            raise ValueError("couplings must be finite, symmetric, with a zero diagonal")


def _check_patterns(patterns: Array) -> None:
    """PatternCouplings.patterns: (n, K) with K ≥ 1, and finite on concrete values."""
    if np.ndim(patterns) != 2 or np.shape(patterns)[1] < 1:
        raise ValueError(f"PatternCouplings needs patterns of shape (n, K >= 1), got {np.shape(patterns)}")
    if not isinstance(patterns, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(patterns, dtype=float))):
        raise ValueError("PatternCouplings.patterns must be finite")


def _check_table(table: NeighbourCouplings) -> None:
    """A neighbour table (n, z) that is a symmetric J with a zero diagonal: integer indices in [0, n), finite values,
    J_ij = J_ji summed over repeated entries (to 1e-10), no non-zero J_ii (checked on concrete values only)."""
    nbr, val = table
    if np.ndim(nbr) != 2 or np.shape(nbr) != np.shape(val) or np.shape(nbr)[1] < 1:
        raise ValueError(f"NeighbourCouplings needs neighbours and values of one shape (n, z >= 1), got "
                         f"{np.shape(nbr)} and {np.shape(val)}")
    if not jnp.issubdtype(jnp.result_type(nbr), jnp.integer):
        raise ValueError(f"NeighbourCouplings.neighbours must be integers, got {jnp.result_type(nbr)}")
    if isinstance(nbr, jax.core.Tracer) or isinstance(val, jax.core.Tracer):
        return
    nbr, val = np.asarray(nbr), np.asarray(val, dtype=float)
    n = nbr.shape[0]
    if np.any(nbr < 0) or np.any(nbr >= n):
        raise ValueError(f"NeighbourCouplings.neighbours must lie in [0, {n}), got range [{nbr.min()}, {nbr.max()}]")
    if not np.all(np.isfinite(val)):
        raise ValueError("NeighbourCouplings.values must be finite")
    rows = np.repeat(np.arange(n), nbr.shape[1])
    J = sp.coo_matrix((val.ravel(), (rows, nbr.ravel())), shape=(n, n)).tocsr()
    if np.any(J.diagonal() != 0):
        raise ValueError("NeighbourCouplings must have a zero diagonal (a self-index only with the value 0)")
    asym = abs(J - J.T)
    if asym.nnz and asym.max() > 1e-10:
        raise ValueError("NeighbourCouplings must be symmetric: J_ij at neighbours[i] must equal J_ji at "
                         "neighbours[j]")


def init(couplings: Array, spins: Array) -> ChainState:
    """Chain state from spins (chains, n) and couplings J (n, n) (dense or `NeighbourCouplings`): g = J s (J
    symmetric, `coupling_field`), both (chains, n)."""
    spins = jnp.asarray(spins, dtype=couplings_dtype(couplings))
    return ChainState(spins, coupling_field(couplings, spins))


def coupling_energy(state: ChainState) -> Array:
    """E_J(s) = ½ sᵀJs per chain, shape (chains,)."""
    return 0.5 * jnp.sum(state.spins * state.coupling_field, axis=-1)


def sweep(key: Array, state: ChainState, couplings: Array, field: Array, beta: Array, rule: str = "metropolis",
          bias: LevelBias | None = None):
    """N single-spin updates at uniform random sites for every chain → (ChainState, SweepInfo).

    state (chains, n), couplings (n, n) dense or `NeighbourCouplings`; field broadcasts to (chains, n), beta to
    (chains,) (module docstring for the acceptance rules); with a `LevelBias` the chains sample ln P(s) + log_bias[c, K(s)] (module docstring),
    and SweepInfo.level_visits (chains, n + 1) counts K after every proposal (the histograms of umbrella sampling).
    """
    spins, g = state
    chains, n = spins.shape
    field = jnp.broadcast_to(field, (chains, n)).astype(spins.dtype)
    beta = jnp.broadcast_to(beta, (chains,)).astype(spins.dtype)
    k_site, k_u = jax.random.split(key)
    sites = jax.random.randint(k_site, (n, chains), 0, n)
    uniforms = jax.random.uniform(k_u, (n, chains), dtype=spins.dtype)
    rows = jnp.arange(chains)
    self_coupling = _self_coupling(couplings) if isinstance(couplings, PatternCouplings) else None
    if bias is not None:
        reference = jnp.asarray(bias.reference, spins.dtype)
        table = jnp.broadcast_to(jnp.asarray(bias.log_bias, spins.dtype), (chains, n + 1))

    def update(carry, inputs):
        s, g, flips, level, visits = carry
        i, u = inputs
        # s_i read once, and the new spin a function of it: every read of s precedes the update of s below, so XLA
        # updates s in place instead of copying it (O(N) per flip) at every proposal
        s_i = jax.lax.optimization_barrier(s[rows, i])
        local = beta * _site_field(couplings, s, g, i, s_i, self_coupling) + field[rows, i]
        if bias is not None:
            r_i = reference[i]
            rest = level - ((1 + s_i * r_i) / 2).astype(jnp.int32)  # K without spin i
            up, down = rest + ((1 + r_i) / 2).astype(jnp.int32), rest + ((1 - r_i) / 2).astype(jnp.int32)
            local = local + 0.5 * (table[rows, up] - table[rows, down])
        if rule == "metropolis":
            new = jnp.where(u < jnp.exp(-2.0 * s_i * local), -s_i, s_i)
        else:
            new = jnp.where((u < jax.nn.sigmoid(2.0 * local)) != (s_i > 0), -s_i, s_i)
        change = new - s_i
        s = s.at[rows, i].set(new)
        g = _flip_field(g, couplings, i, change)
        if bias is not None:
            level = level + (change * r_i / 2).astype(jnp.int32)
            visits = visits + (level[:, None] == jnp.arange(n + 1))
        return (s, g, flips + (change != 0), level, visits), None

    if bias is None:
        level, visits = jnp.zeros((chains,), jnp.int32), None
    else:
        level, visits = overlap_level(spins, reference), jnp.zeros((chains, n + 1), jnp.int32)
    init = (spins, _sweep_carry(couplings, spins, g), jnp.zeros((chains,), spins.dtype), level, visits)
    (spins, g, flips, _, visits), _ = jax.lax.scan(update, init, (sites, uniforms))
    return ChainState(spins, _sweep_field(couplings, spins, g)), SweepInfo(flips / n, visits)


def default_observables(state: ChainState) -> dict:
    """Per chain: coupling energy per spin −E_J/N and magnetisation m = Σs/N, each (chains,), of a state (chains, n)."""
    n = state.spins.shape[-1]
    return {"energy": -coupling_energy(state) / n, "magnetization": jnp.mean(state.spins, axis=-1)}


@functools.partial(jax.jit, static_argnames=("num_sweeps", "rule", "observables", "thin"))
def run_chains(
    key: Array,
    couplings: Array,
    field: Array,
    beta: Array,
    state: ChainState,
    *,
    num_sweeps: int,
    rule: str = "metropolis",
    observables: Callable[[ChainState], Any] = default_observables,
    thin: int = 1,
):
    """``num_sweeps`` sweeps as one lax.scan; returns (final ChainState, records, acceptance).

    state (chains, n), couplings (n, n) dense or `NeighbourCouplings`, field broadcastable to (chains, n), beta
    scalar or (chains,); records = observables(state) after every ``thin``-th sweep, leading axis num_sweeps // thin;
    acceptance (chains,) is averaged over all sweeps. Sweep k uses fold_in(key, k). Drop burn-in by slicing.
    """

    def block(carry, start):
        def one(c, k):
            s, acc = c
            s, info = sweep(jax.random.fold_in(key, k), s, couplings, field, beta, rule)
            return (s, acc + info.acceptance), None

        carry, _ = jax.lax.scan(one, carry, start + jnp.arange(thin))
        return carry, observables(carry[0])

    acc0 = jnp.zeros(state.spins.shape[:1], state.spins.dtype)
    (state, acc), records = jax.lax.scan(block, (state, acc0), jnp.arange(num_sweeps // thin) * thin)
    return state, records, acc / (num_sweeps // thin * thin)


def sample_chains(
    key: Array, couplings: Array, field: Array, beta: Array, *, num_chains: int, num_sweeps: int,
    burn_in: int = 0, rule: str = "metropolis", observables=default_observables, init_spins: Array | None = None,
    thin: int = 1,
):
    """Validated entry point: random (or given) initial spins, burn-in, then recorded sweeps.

    couplings (n, n) dense or `NeighbourCouplings`, field broadcastable to (num_chains, n), beta scalar or
    (num_chains,), init_spins
    (num_chains, n). Returns (final ChainState (num_chains, n), records (num_sweeps // thin, ...), acceptance
    (num_chains,)).
    """
    _check_rule(rule)
    check_model(couplings, beta)
    for name, value in (("num_chains", num_chains), ("num_sweeps", num_sweeps), ("thin", thin)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")
    n = couplings.shape[0]
    k_init, k_burn, k_run = jax.random.split(key, 3)
    if init_spins is None:
        init_spins = jax.random.rademacher(k_init, (num_chains, n), dtype=couplings_dtype(couplings))
    state = init(couplings, init_spins)
    if burn_in:
        state, _, _ = run_chains(k_burn, couplings, field, beta, state, num_sweeps=burn_in, rule=rule,
                                 observables=_nothing)
    return run_chains(k_run, couplings, field, beta, state, num_sweeps=num_sweeps, rule=rule,
                      observables=observables, thin=thin)


def _nothing(state: ChainState):
    return ()


def _spins(state: ChainState):
    return state.spins


def _coupling_field(state: ChainState):
    return state.coupling_field
