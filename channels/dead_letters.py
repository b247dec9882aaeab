"""Operator's view of messages that kept failing (the ``xs:dead`` stream): list and replay.

    python -m channels.dead_letters list
    python -m channels.dead_letters replay <dead entry id>   # back into its partition, once

A replayed message is processed again from where it stopped (steps already done, such as the
bot's answer, are not repeated) and removed from the dead-letter stream.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from redis.asyncio import Redis

from channels.messages import as_text
from channels.partitions import DEAD_LETTERS
from service.settings import Settings


async def dead_letters(redis: Redis, count: int = 100) -> list[dict[str, Any]]:
    entries = await redis.xrange(DEAD_LETTERS, count=count)
    return [{"id": as_text(entry_id), "stream": as_text(fields[b"stream"]),
             "reason": as_text(fields[b"reason"]),
             "inbound": json.loads(as_text(fields[b"inbound"]))} for entry_id, fields in entries]


async def replay(redis: Redis, dead_id: str) -> str:
    """Append the message to its partition again; returns the new entry id."""
    entries = await redis.xrange(DEAD_LETTERS, min=dead_id, max=dead_id)
    if not entries:
        raise LookupError(f"no dead letter {dead_id}")
    _, fields = entries[0]
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(as_text(fields[b"stream"]), {"inbound": fields[b"inbound"]})
        pipe.xdel(DEAD_LETTERS, dead_id)
        new_id, _ = await pipe.execute()
    return as_text(new_id)



async def _main(args: argparse.Namespace) -> int:
    redis = Redis.from_url(Settings().redis_url)
    try:
        if args.command == "list":
            for letter in await dead_letters(redis):
                inbound = letter["inbound"]
                print(f"{letter['id']}  {inbound['channel']}:{inbound['external_id']}  "
                      f"{inbound['text'][:40]!r}  {letter['reason']}")
            return 0
        try:
            print(await replay(redis, args.entry_id))
        except LookupError as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Messages that kept failing (xs:dead)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="show dead letters, oldest first")
    again = commands.add_parser("replay", help="put one back into its partition")
    again.add_argument("entry_id")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
