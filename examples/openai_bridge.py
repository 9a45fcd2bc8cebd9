#!/usr/bin/env python3
"""Chat with any OpenAI-compatible server and hear the reply from the avatar while it streams.

Works with OpenAI, a local llama.cpp ``llama-server``, Ollama (``http://127.0.0.1:11434``),
vLLM, LM Studio, ... — anything that serves ``POST /v1/chat/completions`` with ``stream: true``.
Each token delta goes to ``{prefix}/{channel}/say/stream``; the node speaks sentence by sentence.

    python examples/openai_bridge.py --base-url http://127.0.0.1:8080 "Tell me a short joke."
    OPENAI_API_KEY=sk-... python examples/openai_bridge.py --base-url https://api.openai.com \\
        --model gpt-4o-mini --system "Answer in two sentences." "What is MQTT?"
    python examples/openai_bridge.py --base-url http://127.0.0.1:11434 --model llama3.2 -i

``-i`` keeps a conversation going (one line per turn, empty line or Ctrl-D to quit).
"""

from __future__ import annotations

import argparse
import os
import sys

from avatar_node.bridges.openai_stream import BridgeError, speak_chat
from avatar_node.client import AvatarClient


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("prompt", nargs="?", help="what to ask (omit with -i)")
    p.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8080"),
        help="server root, .../v1 or the full .../v1/chat/completions URL",
    )
    p.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "default"))
    p.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="bearer token (default: $OPENAI_API_KEY)",
    )
    p.add_argument("--system", help="system prompt")
    p.add_argument("--temperature", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("-i", "--interactive", action="store_true", help="keep chatting")
    p.add_argument("--host", default="127.0.0.1", help="MQTT broker")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", default="avatar")
    p.add_argument("--channel", default="default")
    p.add_argument("--voice", help="a voice configured on the node")
    p.add_argument("--no-wait", action="store_true", help="do not wait until the avatar is done")
    return p  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.prompt and not args.interactive:
        build_parser().error("give a prompt or -i")
    params = {k: v for k, v in (("temperature", args.temperature),
                                ("max_tokens", args.max_tokens)) if v is not None}  # fmt: skip
    history: list[dict[str, str]] = []
    if args.system:
        history.append({"role": "system", "content": args.system})
    say_options = {"voice": args.voice} if args.voice else {}
    with AvatarClient(args.host, args.port, args.prefix) as avatar:
        col = avatar.collector(args.channel, frames=False)
        prompt = args.prompt
        while True:
            if prompt is None:
                try:
                    prompt = input("you> ").strip()
                except EOFError:
                    prompt = ""
                if not prompt:
                    return 0
            history.append({"role": "user", "content": prompt})
            try:
                reply = speak_chat(
                    avatar,
                    args.base_url,
                    history,
                    args.model,
                    channel=args.channel,
                    api_key=args.api_key,
                    say_options=say_options,
                    **params,
                )
            except BridgeError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 1
            history.append({"role": "assistant", "content": reply.text})
            print(f"avatar> {reply.text}")
            if not args.no_wait and reply.text.strip():
                end = col.wait_end(reply.id, timeout=300).end or {}
                if end.get("type") != "finished":
                    print(f"({end.get('type')}: {end.get('message')})", file=sys.stderr)
            if not args.interactive:
                return 0
            prompt = None


if __name__ == "__main__":
    sys.exit(main())
