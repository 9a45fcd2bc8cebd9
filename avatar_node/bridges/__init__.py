"""Bridges from chatbots to the node's ``say/stream`` topic.

* :mod:`.openai_stream` — any OpenAI-compatible ``/v1/chat/completions`` server streaming its
  reply (OpenAI, llama.cpp server, Ollama, vLLM, ...); deltas are spoken as they arrive.
"""

from .openai_stream import BridgeError, ChatReply, iter_chat_deltas, speak_chat, speak_chat_async

__all__ = ["BridgeError", "ChatReply", "iter_chat_deltas", "speak_chat", "speak_chat_async"]
