"""Speech and handwriting: CTC and RNN-T losses, CTC decoding, forced alignment, edit distance and error rates."""
from __future__ import annotations

from . import align, ctc, decode, decoder, lm, rnnt, text, vocabulary
from .align import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .decode import *  # noqa: F401,F403
from .decoder import *  # noqa: F401,F403
from .lm import *  # noqa: F401,F403
from .rnnt import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403
from .vocabulary import *  # noqa: F401,F403

__all__ = [*ctc.__all__, *rnnt.__all__, *decode.__all__, *align.__all__, *text.__all__, *vocabulary.__all__,
           *lm.__all__, *decoder.__all__]
