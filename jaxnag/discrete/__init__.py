"""Discrete (multinomial) diffusion with a prior limit, its denoiser and training (PG-NAG)."""

from . import diffusion as diffusion

__all__ = ["diffusion"]
