"""Lip sync: Wav2Lip model and loader, Wav2Lip's audio front-end, avatar enrolment, engines.

Synchronous and free of MQTT/asyncio; the pipeline's lip-sync stage drives an engine from its
own thread.
"""

from .audio import mel_chunk_starts, mel_windows, melspectrogram
from .avatar import AvatarLoadError, default_avatar_path, enrol_avatar
from .avatar_data import Avatar
from .energy import EnergyEngine
from .engine import LipSyncEngine, NoneEngine, Wav2LipEngine
from .factory import ENGINE_NAMES, ENGINES, create_engine
from .life import Life
from .viseme import VisemeEngine
from .wav2lip import Wav2Lip, load_wav2lip

__all__ = [
    "ENGINES",
    "ENGINE_NAMES",
    "Avatar",
    "AvatarLoadError",
    "EnergyEngine",
    "Life",
    "LipSyncEngine",
    "NoneEngine",
    "Wav2Lip",
    "VisemeEngine",
    "Wav2LipEngine",
    "create_engine",
    "default_avatar_path",
    "enrol_avatar",
    "load_wav2lip",
    "mel_chunk_starts",
    "mel_windows",
    "melspectrogram",
]
