"""Text to speech with VITS in PyTorch: VITS / VITS-fast-fine-tuning checkpoints and Piper voices.

>>> from avatar_node.tts import load_voice
>>> voice = load_voice()                       # bundled Piper en_US-joe-medium
>>> chunks = list(voice.synthesize("Hello."))   # float32 arrays at voice.sample_rate

Importing this package before torch makes OpenMP wait passively (``OMP_WAIT_POLICY=PASSIVE``
unless the environment says otherwise): a torch thread that waits at the end of a parallel
region sleeps instead of spinning. On a busy 2-core machine (other processes, or the node's
own lip-sync thread) spinning threads burn the time slices the thread they wait for needs;
measured with 2 threads at load ~8: joe-medium RTF 1.28 spinning, 0.10 passive
(docs/performance.md). It has no effect once torch has been imported.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
