"""Text to speech with VITS in PyTorch: VITS / VITS-fast-fine-tuning checkpoints and Piper voices.

>>> from avatar_node.tts import load_voice
>>> voice = load_voice()                       # bundled Piper en_US-joe-medium
>>> chunks = list(voice.synthesize("Hello."))   # float32 arrays at voice.sample_rate

Importing it (like anything in ``avatar_node``) before torch sets torch's native settings
first: :func:`avatar_node.memory.limit_kernel_cache` (OpenMP threads spin briefly, then sleep).
"""

from .loading import default_voice_path, load_voice
from .streaming import WHOLE_SENTENCE, StreamPlan
from .synthesis import Synthesis, SynthesisOptions
from .vits.model import VitsOutputs
from .voice import Voice

__all__ = [
    "WHOLE_SENTENCE",
    "StreamPlan",
    "Synthesis",
    "SynthesisOptions",
    "Voice",
    "VitsOutputs",
    "default_voice_path",
    "load_voice",
]
