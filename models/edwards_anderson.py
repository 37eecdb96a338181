"""Edwards–Anderson spin glass on the edges of a graph.

P(s) ∝ exp(β Σ_{(ij) ∈ E} J_ij s_i s_j + h Σ_i s_i), bonds J_ij = ±1 with equal probability ("pm") or
N(0, 1) ("gaussian") on each edge (Edwards & Anderson, J. Phys. F 5, 965 (1975)). The geometry is any NetKet
graph (`netket.graph.Square(L, pbc=...)`, `Hypercube`, `Graph(edges=...)`), read once at construction; the
target stores the dense coupling matrix (fine up to N ≈ 1000), so it shares the pairwise-Ising methods of
`models.sk` (H = −½ sᵀJs) and `physics.montecarlo` runs it directly.
"""

from __future__ import annotations

import numpy as np

from .base import pytree_dataclass
from .sk import PairwiseIsing

BONDS = ("pm", "gaussian")


@pytree_dataclass(static=("chunk_size",))
class EdwardsAnderson(PairwiseIsing):
    """EA model with coupling matrix ``couplings`` (n, n) (non-zero on the edges); build it with `from_graph`."""

    @classmethod
    def from_graph(cls, graph, beta: float, bonds: str = "pm", seed: int = 0, h: float = 0.0, **kwargs):
        """Random bonds on the edges of a NetKet graph, from numpy's default_rng(seed)."""
        return cls(ea_couplings(graph, bonds, seed), beta, h, **kwargs)


def ea_couplings(graph, bonds: str = "pm", seed: int = 0) -> np.ndarray:
    """Dense symmetric couplings with a random bond on each edge of ``graph`` (a NetKet graph), shape (n, n)."""
    if bonds not in BONDS:
        raise ValueError(f"bonds must be one of {BONDS}, got {bonds!r}")
    if not hasattr(graph, "edges") or not hasattr(graph, "n_nodes"):
        raise ValueError(f"graph must be a NetKet graph (with n_nodes and edges()), got {type(graph).__name__}")
    edges = np.asarray(graph.edges(), dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    if edges.shape[0] == 0:
        raise ValueError("graph has no edges (self-loops ignored): the EA model needs at least one bond")
    n = int(graph.n_nodes)
    rng = np.random.default_rng(seed)
    values = rng.choice([-1.0, 1.0], size=len(edges)) if bonds == "pm" else rng.normal(size=len(edges))
    J = np.zeros((n, n))
    np.add.at(J, (edges[:, 0], edges[:, 1]), values)
    np.add.at(J, (edges[:, 1], edges[:, 0]), values)
    return J
