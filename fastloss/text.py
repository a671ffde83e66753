"""``fastloss.text``: jiwer-style text transforms and the error-rate API in
one namespace (``from fastloss import text; text.wer(...,
reference_transform=text.Compose([...]))``).

Why a top-level alias module: the code lives in the speech domain
(``fastloss/speech/transforms.py`` beside ``speech/text.py``, which applies
the transforms), where it is found with the rest of the WER/CER code and
obeys the domain import rules; users, coming from jiwer, look for
``fastloss.text``.  The transform classes are deliberately not re-exported
at the top level (``fastloss.Strip`` would be a confusing name).
"""
from __future__ import annotations

from .speech.text import AlignmentChunk, ErrorRates, cer, edit_distance, error_rates, visualize_alignment, wer
from .speech.transforms import *  # noqa: F401,F403
from .speech.transforms import __all__ as _transforms

__all__ = [*_transforms, "AlignmentChunk", "ErrorRates", "cer", "edit_distance", "error_rates", "visualize_alignment",
           "wer"]
