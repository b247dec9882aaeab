"""``python -m channels.telegram poll``: development polling (see polling.py).

Reads the ``TELEGRAM_*`` settings and posts to the service at ``--service-url`` (default
``http://$SERVICE_HOST:$SERVICE_PORT``). The bot must have no webhook set (deleteWebhook).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from channels.telegram.polling import PollError, poll
from channels.telegram.settings import TelegramSettings


def main(argv: list[str] | None = None) -> int:
    default_url = (f"http://{os.environ.get('SERVICE_HOST', '127.0.0.1')}:"
                   f"{os.environ.get('SERVICE_PORT', '8000')}")
    parser = argparse.ArgumentParser(prog="python -m channels.telegram")
    commands = parser.add_subparsers(dest="command", required=True)
    poll_parser = commands.add_parser("poll", help="fetch updates with getUpdates, post them to "
                                                   "the service's webhook")
    poll_parser.add_argument("--service-url", default=default_url)
    poll_parser.add_argument("--once", action="store_true",
                             help="forward the pending updates, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs contain the bot token
    settings = TelegramSettings()
    if not settings.enabled:
        print("TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    try:
        forwarded = poll(settings, args.service_url, once=args.once)
    except PollError as error:
        print(f"polling stopped: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    print(f"forwarded {forwarded} update(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
