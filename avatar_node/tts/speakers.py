"""Which speaker of a voice a request names."""

from __future__ import annotations

from avatar_node.errors import UnknownSpeaker


def resolve_speaker(
    name: str, speakers: dict[str, int], n_speakers: int, default: int, speaker: str | int | None
) -> int | None:
    """Name or id → id (None for single-speaker voices); raises UnknownSpeaker."""
    if n_speakers == 0:
        if speaker in (None, 0, "0") or (isinstance(speaker, str) and speaker in speakers):
            return None
        raise UnknownSpeaker(f"voice {name!r} has a single speaker; got {speaker!r}")
    if speaker is None:
        return default
    if isinstance(speaker, str):
        if speaker in speakers:
            return speakers[speaker]
        if not speaker.strip().isdigit():
            known = ", ".join(sorted(speakers)) or f"ids 0..{n_speakers - 1}"
            raise UnknownSpeaker(f"voice {name!r} has no speaker {speaker!r} ({known})")
        speaker = int(speaker)
    if isinstance(speaker, bool) or not isinstance(speaker, int):
        raise UnknownSpeaker(f"speaker must be a name or an id, got {speaker!r}")
    if not 0 <= speaker < n_speakers:
        raise UnknownSpeaker(f"voice {name!r} has speaker ids 0..{n_speakers - 1}, got {speaker}")
    return speaker
