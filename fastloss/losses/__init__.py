"""Losses with fused gradients: regression, classification, margin, embedding."""
from __future__ import annotations

from . import classification, embedding, likelihood, margin, regression
from .classification import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .likelihood import *  # noqa: F401,F403
from .margin import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403

__all__ = [*regression.__all__, *classification.__all__, *margin.__all__, *embedding.__all__, *likelihood.__all__]
