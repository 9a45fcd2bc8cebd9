"""Voice and avatar registries: configured models, loaded once and looked up by name."""

from .registry import AvatarRegistry, LoadedVoice, VoiceRegistry

__all__ = ["AvatarRegistry", "LoadedVoice", "VoiceRegistry"]
