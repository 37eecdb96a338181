"""Dynamics and analyses of generation: schedules, forward process, reverse samplers, scores."""

from .forward import noise, prior_sample, simulate_sde
from .integrator import Info, Sampler, SamplerState
from .samplers import SAMPLERS, get_sampler
from .schedules import SCHEDULES, Schedule, make_schedule
from .scores import ExactScore
from .trajectory import Trajectory, magnetization, reverse_sample, sign_magnetization

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "ExactScore",
    "Info",
    "Sampler",
    "SamplerState",
    "Schedule",
    "Trajectory",
    "get_sampler",
    "magnetization",
    "make_schedule",
    "noise",
    "prior_sample",
    "reverse_sample",
    "sign_magnetization",
    "simulate_sde",
]
