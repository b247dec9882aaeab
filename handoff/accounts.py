"""``python -m handoff.accounts``: the operator's way to create agent, supervisor and editor
accounts (in production there are no demo accounts) and to list them.

    echo "$PASSWORD" | python -m handoff.accounts add wang --name 客服小王 --role agent \\
        --groups logistics,returns --capacity 4
    python -m handoff.accounts list

The password is read from standard input (or ``AGENT_PASSWORD``), never from the command line,
where ``ps`` would show it. The database is ``DATABASE_URL``, as for the service.
"""
from __future__ import annotations

import argparse
import getpass
import os
import re
import sys

from sqlalchemy.exc import IntegrityError

from handoff.agents import ROLES, AgentDirectory
from handoff.queue import SKILL_GROUPS
from handoff.transcripts import make_engine

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # as the console's login accepts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.accounts",
                                     description="agent accounts of the console")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account (password on standard input)")
    add.add_argument("username", type=_username)
    add.add_argument("--name", required=True, type=_display_name, help="shown to colleagues")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--groups", type=_groups, default=list(SKILL_GROUPS),
                     help=f"comma-separated, of {','.join(SKILL_GROUPS)} (default: all)")
    add.add_argument("--capacity", type=_capacity, default=3,
                     help="conversations at once, 1-50 (editors: 0)")
    commands.add_parser("list", help="list the accounts (no passwords)")
    args = parser.parse_args(argv)
    directory = AgentDirectory(make_engine(_database_url()))
    if args.command == "list":
        for agent in directory.all():
            print(f"{agent.username}\t{agent.role}\t{agent.name}\t{','.join(agent.groups)}\t"
                  f"{agent.capacity}")
        return 0
    return _add(directory, args, parser)


def _add(directory: AgentDirectory, args: argparse.Namespace,
         parser: argparse.ArgumentParser) -> int:
    password = os.environ.get("AGENT_PASSWORD") or _read_password()
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        parser.error(f"the password (standard input or AGENT_PASSWORD) needs {MIN_PASSWORD} to "
                     f"{MAX_PASSWORD} characters")
    capacity = 0 if args.role == "editor" else max(args.capacity, 1)
    groups = [] if args.role == "editor" else args.groups
    try:
        directory.add(args.username, args.name, args.role, groups, capacity, password)
    except IntegrityError:
        print(f"error: the username {args.username!r} is taken", file=sys.stderr)
        return 1
    print(f"added {args.role} {args.username}")
    return 0


def _read_password() -> str:
    """From a pipe as given; at a terminal without echo (and the prompt on stderr)."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline(MAX_PASSWORD + 2).rstrip("\n")


def _database_url() -> str:
    from service.settings import Settings
    return Settings().database_url


def _username(value: str) -> str:
    if not USERNAME.match(value):
        raise argparse.ArgumentTypeError("3-32 of a-z 0-9 _ . -, starting with a letter")
    return value


def _display_name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 32 or any(not ch.isprintable() for ch in value):
        raise argparse.ArgumentTypeError("1-32 printable characters")
    return value


def _groups(value: str) -> list[str]:
    groups = [group.strip() for group in value.split(",") if group.strip()]
    unknown = sorted(set(groups) - set(SKILL_GROUPS))
    if not groups or unknown:
        raise argparse.ArgumentTypeError(f"of {','.join(SKILL_GROUPS)}; unknown: {unknown}")
    return groups


def _capacity(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 50:
        raise argparse.ArgumentTypeError("a whole number 0-50")
    return int(value)


if __name__ == "__main__":
    sys.exit(main())
