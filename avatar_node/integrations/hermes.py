"""Rhasspy Hermes TTS: ``hermes/tts/say`` for the configured site is spoken on one channel.

Mapping of a ``TtsSay`` onto the node:

* ``siteId`` must equal ``hermes.site_id``; other sites' requests are ignored (another TTS
  serves them).
* ``id`` becomes the utterance id when it is a valid contract id (``[A-Za-z0-9._:-]{1,64}``);
  otherwise the node generates one. Replies always echo the Hermes ``id`` unchanged.
* ``lang`` (``en``, ``en-US``, ``en_US``) → the ``language`` mark, its primary subtag in lower case.
* ``volume`` (0..1) → the utterance's linear gain.

When the utterance ends — finished, cancelled (a ``stop``) or failed — ``hermes/tts/sayFinished``
``{id, siteId, sessionId}`` is published, so a dialogue manager never waits for its timeout. A
request the node rejects, a failure while speaking, and a malformed payload are reported on
``hermes/error/tts`` ``{error, siteId, context, sessionId}`` (``error`` starts with the contract's
error code); a rejected request is then also finished.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import AvatarError
from ..log import get_logger
from ..pipeline.items import END_KINDS, EventKind, PipelineEvent, SayCommand
from ..pipeline.sink import NullSink
from ..wire import HermesError, HermesSay, HermesSayFinished, new_id
from ..wire.base import ID_RE
from ..wire.parse import check_text, decode_text, model_from, parse_json_object
from .port import NodePort

log = get_logger(__name__)

SAY_TOPIC = "hermes/tts/say"
FINISHED_TOPIC = "hermes/tts/sayFinished"
ERROR_TOPIC = "hermes/error/tts"


def language_mark(lang: str | None) -> str | None:
    """Hermes ``lang`` (BCP 47 or POSIX style) → the node's language mark (``en-US`` → ``en``)."""
    if not lang or not lang.strip():
        return None
    return re.split(r"[-_.@]", lang.strip(), maxsplit=1)[0].lower() or None


class _Reply(NullSink):
    """Hears the end of one Hermes request's utterance and answers on the Hermes topics."""

    def __init__(self, hermes: Hermes, say: HermesSay):
        self.hermes, self.say = hermes, say

    def event(self, event: PipelineEvent) -> None:
        if event.kind in END_KINDS:
            self.hermes.ended(self.say, event)


class Hermes:
    """Bridges Hermes TTS requests to the pipeline and answers on the Hermes topics."""

    def __init__(self, node: NodePort):
        self.node = node
        self.settings = node.settings.hermes

    def install(self) -> None:
        self.node.subscribe(SAY_TOPIC, self._on_say)
        log.info("hermes tts enabled", site_id=self.settings.site_id, channel=self.settings.channel)

    # ---------------------------------------------------------------- inbound

    def _on_say(self, _topic: str, payload: bytes) -> None:
        n = self.node.settings.node
        raw: dict[str, Any] | None = None
        try:
            raw = parse_json_object(decode_text(payload, n.max_payload_bytes))
            raw_site = raw.get("siteId") if raw is not None else None
            if isinstance(raw_site, str) and raw_site != self.settings.site_id:
                return  # another site's TTS request, even if malformed
            say = model_from(raw, HermesSay)
        except AvatarError as exc:
            session = raw.get("sessionId") if raw is not None else None
            context = _str_or_none(raw.get("id")) if raw is not None else None
            self._error(exc, context or _preview(payload), _str_or_none(session))
            return
        if say.site_id != self.settings.site_id:
            return
        utt_id = say.id if say.id is not None and ID_RE.match(say.id) else new_id()
        try:
            cmd = SayCommand(
                channel=self.settings.channel,
                id=utt_id,
                language=language_mark(say.lang),
                gain=1.0 if say.volume is None else float(say.volume),
                text=check_text(say.text, n.max_text_chars),
                sinks=(_Reply(self, say),),
            )
            self.node.submit(cmd)
        except AvatarError as exc:  # the node refuses it: an error, and still a sayFinished
            self.node.reject(self.settings.channel, utt_id, exc)
            self._error(exc, say.id, say.session_id)
            self._finished(say)
            return
        log.info("hermes say", id=utt_id, session=say.session_id, lang=say.lang, volume=say.volume)

    # ---------------------------------------------------------------- outbound

    def ended(self, say: HermesSay, event: PipelineEvent) -> None:
        if event.kind is EventKind.ERROR:
            self._publish(
                ERROR_TOPIC,
                HermesError(
                    error=f"engine_error: utterance {event.id} failed while speaking",
                    site_id=self.settings.site_id,
                    context=say.id,
                    session_id=say.session_id,
                ).to_json(),
            )
        self._finished(say)

    def _finished(self, say: HermesSay) -> None:
        msg = HermesSayFinished(id=say.id, site_id=self.settings.site_id, session_id=say.session_id)
        self._publish(FINISHED_TOPIC, msg.to_json())

    def _error(self, exc: AvatarError, context: str | None, session_id: str | None) -> None:
        log.warning("hermes say rejected", code=exc.code, message=exc.message)
        msg = HermesError(
            error=f"{exc.code}: {exc.message}",
            site_id=self.settings.site_id,
            context=context,
            session_id=session_id,
        )
        self._publish(ERROR_TOPIC, msg.to_json())

    def _publish(self, topic: str, payload: bytes) -> None:
        self.node.publish(topic, payload, 1, False)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _preview(payload: bytes, limit: int = 200) -> str:
    """The start of an unreadable payload, for the error's ``context``."""
    return payload[:limit].decode("utf-8", "replace")
