"""The deployment files (deploy/, .dockerignore): syntax and meaning, offline.

Docker, compose and a cluster are not needed. Each family of files has a checker that returns
the problems it finds, in words; the real files must have none, and a deliberately broken copy
must be caught (the last tests), so a checker that stopped looking would fail.

- docker-compose.yml: the Compose Specification's JSON schema (vendored), then meaning: replicas,
  healthchecks on the probes, secrets only interpolated from the environment, every variable a
  real setting, addresses that lead to a service listening there, builds whose Dockerfile exists.
- Both: the FAQ editor's files (KNOWLEDGE_BASE_DIR) are one shared volume, mounted where the
  variable points in every service replica and action server, and seeded before they start.
- deploy/k8s/*.yaml: Kubernetes' strict JSON schemas (vendored), then meaning: Service selectors
  and ports, probes on real routes, secrets only from the Secret, settings, images, PDBs.
- Dockerfiles: known instructions, FROM first, COPY sources that exist in the build context,
  and an image that holds every module its processes import.
- nginx: balanced blocks, known directives, WebSocket upgrade, upstreams that exist; and
  ``nginx -t`` on it where nginx is installed.
"""
from __future__ import annotations

import ast
import copy
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
NGINX_CONF = DEPLOY / "nginx" / "compose.conf"
K8S_DIR = DEPLOY / "k8s"
DOCKERFILES = {"rasa": DEPLOY / "docker" / "Dockerfile.rasa",
               "service": DEPLOY / "docker" / "Dockerfile.service"}
FIXTURES = ROOT / "tests" / "fixtures" / "deploy"

# Our processes, as the Procfile runs them; each must run twice side by side (DESIGN.md).
SCALED = ("rasa", "actions", "service")
OUR_IMAGES = {"xiaoshou/rasa": "rasa", "xiaoshou/service": "service"}
SECRET_NAME = re.compile(r"_(SECRET|TOKEN|PASSWORD|KEY)$|^(SECRET|TOKEN|PASSWORD|KEY)$")
# Settings that carry a secret although their name does not say so.
SECRET_BY_CONTENT = {"DATABASE_URL"}
# The processes that work on the FAQ editor's live files (the service writes, the actions read),
# and the command that fills a fresh volume with the image's entries.
KB_USERS = ("service", "actions")
SEED_COMMAND = ["python", "-m", "knowledge_base", "seed"]
PACKAGE_DIR = "/app/knowledge_base"  # WORKDIR /app: a volume here would hide the Python package
# The probe each process answers: the service's own, the demo shop's, rasa_sdk's, Rasa's root
# and its /status. The service's readiness leaves the other Deployments out (service/health.py).
PROBE_PATHS = {"service": {"readiness": "/readyz?exclude=rasa&exclude=action_server",
                           "liveness": "/healthz"},
               "demo-shop": {"readiness": "/healthz", "liveness": "/healthz"},
               "actions": {"readiness": "/health", "liveness": "/health"},
               "rasa": {"liveness": "/"}}


# --- what the project itself says -------------------------------------------------------------

@cache
def known_settings() -> frozenset[str]:
    """Every environment variable a process of ours reads: the pydantic settings' fields, and
    what the code reads from os.environ itself (bot/cli.py, the action server, entry points)."""
    from channels.telegram.settings import TelegramSettings
    from channels.wechat.settings import WeChatSettings
    from demo_shop.settings import ShopSettings
    from service.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    for prefix, model in (("WECHAT_", WeChatSettings), ("TELEGRAM_", TelegramSettings),
                          ("SHOP_", ShopSettings)):
        names |= {prefix + name.upper() for name in model.model_fields}
    read = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']""")
    for package in local_packages() - {"bench"}:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(read.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) or name in SECRET_BY_CONTENT


@cache
def service_routes() -> dict[str, str]:
    """Path -> kind ("http" or "websocket") of the service's probe and WebSocket routes."""
    from channels import app_channel
    from handoff import console_api
    from service import health

    routes = {}
    for router in (health.router, app_channel.router, console_api.router):
        for route in router.routes:
            routes[route.path] = "websocket" if "WebSocket" in type(route).__name__ else "http"
    return routes


def websocket_paths() -> list[str]:
    return sorted(path for path, kind in service_routes().items() if kind == "websocket")


@cache
def bot_subcommands() -> frozenset[str]:
    text = (ROOT / "bot" / "cli.py").read_text(encoding="utf-8")
    return frozenset(re.findall(r'add_parser\(\s*"([a-z-]+)"', text))


def command_problems(argv: list[str], where: str) -> list[str]:
    """A command of ours must name a module, factory and subcommand that exist."""
    if not argv:
        return []
    if argv[:2] == ["python", "-m"] and len(argv) > 2:
        module = argv[2]
        base = ROOT.joinpath(*module.split("."))
        if not ((base / "__main__.py").exists() or base.with_suffix(".py").exists()):
            return [f"{where}: `python -m {module}`: no such module in the repository"]
        if module == "bot" and (len(argv) < 4 or argv[3] not in bot_subcommands()):
            return [f"{where}: `python -m bot` needs one of {sorted(bot_subcommands())}, got {argv[3:]}"]
        return []
    if argv[0] == "uvicorn":
        if "--factory" not in argv:
            return [f"{where}: uvicorn without --factory (service.app exposes create_app)"]
        target = next((arg for arg in argv[1:] if ":" in arg and not arg.startswith("-")), "")
        module, _, attribute = target.partition(":")
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        if not path.exists() or f"def {attribute}(" not in path.read_text(encoding="utf-8"):
            return [f"{where}: uvicorn target {target!r} does not exist"]
        return []
    return []


def option(argv: list[str], name: str) -> Optional[str]:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def listen_address(argv: list[str], env: dict[str, str]) -> tuple[Optional[str], Optional[int]]:
    """Where a process of ours listens: its --host/--port, or the variables bot/cli.py reads."""
    if argv[:4] == ["python", "-m", "bot", "rasa"]:
        return env.get("RASA_HOST", "127.0.0.1"), int(env.get("RASA_PORT", "5005"))
    if argv[:4] == ["python", "-m", "bot", "actions"]:
        return env.get("ACTIONS_HOST", "127.0.0.1"), int(env.get("ACTIONS_PORT", "5055"))
    port = option(argv, "--port")
    return option(argv, "--host"), int(port) if port else None


def inline_script_problems(where: str, argv: list[str], port: Optional[int]) -> list[str]:
    """A `python -c` healthcheck or probe must compile, and ask the port its process listens on."""
    if "-c" not in argv[:-1] or not any(word.endswith("python") for word in argv):
        return []
    script = argv[argv.index("-c") + 1]
    try:
        compile(script, where, "exec")
    except SyntaxError as error:
        return [f"{where}: its python -c script does not compile: {error}"]
    asked = {int(found) for found in re.findall(r"//127\.0\.0\.1:(\d+)", script)}
    if port and asked != {port}:
        return [f"{where}: its script asks port(s) {sorted(asked)}, the process listens on {port}"]
    return []


def graceful_stop_problem(where: str, argv: list[str], grace_seconds: float,
                          before_sigterm: float = 0) -> Optional[str]:
    """The orchestrator must wait longer than uvicorn's own graceful shutdown before SIGKILL."""
    graceful = option(argv, "--timeout-graceful-shutdown")
    if argv[:1] == ["uvicorn"] and graceful is None:
        return f"{where}: uvicorn without --timeout-graceful-shutdown"
    if graceful is not None and grace_seconds < before_sigterm + float(graceful) + 5:
        return (f"{where}: {grace_seconds:g} s to stop is too short for {before_sigterm:g} s before "
                f"SIGTERM and uvicorn's {graceful} s graceful shutdown")
    return None


# --- Dockerfiles --------------------------------------------------------------------------------

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL"}


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int


class DockerfileError(ValueError):
    pass


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        if keyword != keyword.upper():
            raise DockerfileError(f"line {start}: instruction {keyword!r} is not upper case")
    if pending:
        raise DockerfileError(f"line {start}: the file ends inside a continued instruction")
    return instructions


def _exec_form(arguments: str) -> list[str]:
    if arguments.startswith("["):
        return json.loads(arguments)
    return shlex.split(arguments)


def _copy_sources(arguments: str) -> tuple[list[str], bool]:
    """The sources of a COPY (without its destination), and whether it copies from a stage."""
    words = shlex.split(arguments)
    flags = [word for word in words if word.startswith("--")]
    paths = [word for word in words if not word.startswith("--")]
    return paths[:-1], any(flag.startswith("--from=") for flag in flags)


@dataclass
class Image:
    """What a Dockerfile's final stage holds of the repository, and what its build reads."""
    base: str
    copied: list[str] = field(default_factory=list)
    context_reads: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def dockerfile_problems(text: str) -> tuple[list[str], Optional[Image]]:
    try:
        instructions = parse_dockerfile(text)
    except DockerfileError as error:
        return [str(error)], None
    problems = [f"line {item.line}: unknown instruction {item.keyword}"
                for item in instructions if item.keyword not in INSTRUCTIONS]
    leading = [item for item in instructions if item.keyword != "ARG"]
    if not leading or leading[0].keyword != "FROM":
        problems.append("the first instruction (after ARGs) must be FROM")
        return problems, None
    image = Image(base="")
    for item in instructions:
        if item.keyword == "FROM":
            image = Image(base=item.arguments.split()[0], context_reads=image.context_reads)
        elif item.keyword in ("COPY", "ADD"):
            try:
                sources, from_stage = _copy_sources(item.arguments)
            except ValueError as error:
                problems.append(f"line {item.line}: {item.keyword} does not parse: {error}")
                continue
            if not sources:
                problems.append(f"line {item.line}: {item.keyword} needs a source and a destination")
            if not from_stage:
                image.copied += [source.rstrip("/") or "." for source in sources]
                image.context_reads += sources
        elif item.keyword == "CMD":
            try:
                image.cmd = _exec_form(item.arguments)
            except ValueError as error:
                problems.append(f"line {item.line}: CMD does not parse: {error}")
        elif item.keyword == "RUN":
            # Files a RUN names in the build's own copies (`pip install -r <lock>`).
            image.context_reads += [name for name in re.findall(r"-r\s+(\S+)", item.arguments)
                                    if not name.startswith("/")]
    for source in image.context_reads:
        if not (ROOT / source).exists():
            problems.append(f"COPY source {source!r} does not exist in the build context")
        elif is_dockerignored(source.rstrip("/")):
            problems.append(f"COPY source {source!r} is excluded by .dockerignore")
    for lock in re.findall(r"(requirements/[\w.-]+\.lock)", text):
        if not (ROOT / lock).exists():
            problems.append(f"lock file {lock} does not exist")
    problems += command_problems(image.cmd, "CMD")
    return problems, image


@cache
def dockerignore_patterns() -> tuple[str, ...]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _matches(path: str, pattern: str) -> bool:
    """Docker's rule: a pattern matches a path or any folder above it; **/ matches no folder too."""
    candidates = [pattern] + ([pattern[3:]] if pattern.startswith("**/") else [])
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(prefix, candidate) for prefix in prefixes for candidate in candidates)


def is_dockerignored(path: str) -> bool:
    ignored = False
    for pattern in dockerignore_patterns():
        if pattern.startswith("!"):
            if _matches(path, pattern[1:]):
                ignored = False
        elif _matches(path, pattern):
            ignored = True
    return ignored


def in_image(image: Image, path: str) -> bool:
    inside = any(source == "." or path == source or path.startswith(source + "/")
                 for source in image.copied)
    return inside and not is_dockerignored(path)


@cache
def local_packages() -> frozenset[str]:
    return frozenset(path.name for path in ROOT.iterdir()
                     if (path / "__init__.py").exists() and path.name != "tests")


def _module_files(module: str) -> list[Path]:
    """The repository files importing ``module`` loads (its packages' __init__ files too)."""
    parts = module.split(".")
    if parts[0] not in local_packages():
        return []
    files = []
    for depth in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:depth])
        if (base / "__init__.py").exists():
            files.append(base / "__init__.py")
        elif base.with_suffix(".py").exists():
            files.append(base.with_suffix(".py"))
            break
        else:
            break
    return files


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            modules.add(base)
            modules |= {f"{base}.{alias.name}" for alias in node.names}  # may be submodules
    return modules


@cache
def import_closure(entry_files: tuple[str, ...]) -> frozenset[str]:
    todo = [ROOT / entry for entry in entry_files]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            todo += _module_files(module)
    return frozenset(str(path.relative_to(ROOT)) for path in seen)


# What each image's processes import and read. Rasa loads the components named in config.yml and
# the input channel of credentials.yml; rasa_sdk imports every module of actions/.
IMAGE_ENTRIES = {
    "rasa": ["bot/__main__.py", "bot/cli.py", "bot/nlu_components.py", "bot/channel.py",
             *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "actions").rglob("*.py"))],
    "service": ["service/app.py", "demo_shop/__main__.py", "channels/dead_letters.py",
                "channels/telegram/__main__.py"],
}
IMAGE_DATA = {
    "rasa": ["config.yml", "domain.yml", "endpoints.yml", "credentials.yml", "shop_policy.yml",
             "requirements/rasa.lock", "bot/data/variants.yml", "nlu_data/rules",
             "knowledge_base/entries"],
    "service": ["shop_policy.yml", "tests/nlu/heldout.yml", "channels/static", "handoff/static",
                "analytics/static", "knowledge_base/static", "knowledge_base/entries",
                "handoff/canned_replies.yml"],
}
IMAGE_PYTHON = {"rasa": "3.10", "service": "3.11"}


def image_content_problems(name: str, image: Image) -> list[str]:
    problems = []
    if not image.base.startswith(f"python:{IMAGE_PYTHON[name]}"):
        problems.append(f"{name}: the image must be Python {IMAGE_PYTHON[name]}, not {image.base}")
    for path in sorted(import_closure(tuple(IMAGE_ENTRIES[name]))) + IMAGE_DATA[name]:
        if not in_image(image, path):
            problems.append(f"{name}: {path} is not copied into the image")
    return problems


# --- compose ------------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """The value compose would use with none of the variables set (defaults, else a marker)."""
    def replace(match: re.Match) -> str:
        operator, default = match.group(2), match.group(3)
        return default if operator in (":-", "-") else f"<{match.group(1)}>"
    return INTERPOLATION.sub(replace, str(value))


def secret_is_interpolated(value: str) -> bool:
    """A secret comes from the environment whole: ${NAME}, ${NAME:?why} or ${NAME:-} (empty)."""
    match = INTERPOLATION.fullmatch(str(value))
    return bool(match) and not (match.group(2) in (":-", "-") and match.group(3))


def url_password_problem(value: str) -> Optional[str]:
    """A URL may carry a password only as an interpolated variable."""
    parsed = urlparse(interpolate(value))
    if parsed.password and not re.fullmatch(r"<[A-Za-z0-9_]+>", parsed.password):
        return "its URL carries a password inline"
    return None


@cache
def compose_schema() -> Draft202012Validator:
    return Draft202012Validator(json.loads((FIXTURES / "compose-spec.json").read_text()))


def compose_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _our_role(service: dict) -> Optional[str]:
    image = str(service.get("image", "")).split(":")[0]
    return OUR_IMAGES.get(image)


def compose_problems(compose: dict, nginx: Optional[list[Directive]] = None) -> list[str]:
    problems = [f"schema: {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                for error in compose_schema().iter_errors(compose)]
    if problems:
        return problems
    services: dict[str, dict] = compose["services"]
    for name in ("redis", "postgres", *SCALED, "demo-shop", "nginx"):
        if name not in services:
            problems.append(f"service {name!r} is missing")
    if problems:
        return problems
    for name in SCALED:
        replicas = services[name].get("deploy", {}).get("replicas")
        if replicas != 2:
            problems.append(f"{name}: deploy.replicas is {replicas!r}, want 2 side by side")
    redis_command = " ".join(map(str, services["redis"].get("command", [])))
    if "--appendonly yes" not in redis_command:
        problems.append("redis: AOF is off (want --appendonly yes)")
    if not any(str(volume).endswith(":/data") for volume in services["redis"].get("volumes", [])):
        problems.append("redis: /data (the AOF) is not on a volume")
    nginx = nginx if nginx is not None else nginx_config()
    listening = _compose_listening(services, nginx, problems)
    for name, service in services.items():
        problems += _compose_service_problems(name, service, services, listening)
    problems += _compose_nginx_problems(services, nginx)
    problems += _compose_kb_problems(compose)
    return problems


def one_shot_jobs(services: dict[str, dict]) -> set[str]:
    """Services others wait for to finish (``service_completed_successfully``): jobs that run
    once before them, with nothing to listen on or to health-check."""
    return {job for service in services.values()
            for job, condition in _depends_on(service).items()
            if condition.get("condition") == "service_completed_successfully"}


def _depends_on(service: dict) -> dict[str, dict]:
    depends = service.get("depends_on") or {}
    return {name: {} for name in depends} if isinstance(depends, list) else depends


def _compose_listening(services: dict[str, dict], nginx: list[Directive],
                       problems: list[str]) -> dict[str, set[int]]:
    """The ports each service listens on, from its command and settings (or its image's own)."""
    listening: dict[str, set[int]] = {"redis": {6379}, "postgres": {5432},
                                      "nginx": {port for server in nginx_servers(nginx)
                                                for port in server.listens}}
    for name, service in services.items():
        if _our_role(service) is None or name in one_shot_jobs(services):
            continue
        argv = [str(arg) for arg in service.get("command", [])]
        host, port = listen_address(argv, {key: interpolate(value) for key, value
                                           in compose_environment(service).items()})
        if host != "0.0.0.0":
            problems.append(f"{name}: listens on {host!r}: other containers cannot reach it")
        if port:
            listening[name] = {port}
    return listening


def _compose_service_problems(name: str, service: dict, services: dict[str, dict],
                              listening: dict[str, set[int]]) -> list[str]:
    problems = []
    if name in one_shot_jobs(services):
        if service.get("restart", "no") not in ("no", "on-failure"):
            problems.append(f"{name}: a one-shot job with restart {service['restart']!r} runs again "
                            "and again after it finished")
    elif "healthcheck" not in service:
        problems.append(f"{name}: no healthcheck")
    if service.get("ports") and name != "nginx":
        problems.append(f"{name}: publishes ports; only nginx faces the outside")
    for dependency in service.get("depends_on", {}) or {}:
        if dependency not in services:
            problems.append(f"{name}: depends on unknown service {dependency!r}")
    build = service.get("build")
    if isinstance(build, dict):
        context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
        if not (context / build.get("dockerfile", "Dockerfile")).exists():
            problems.append(f"{name}: Dockerfile {build.get('dockerfile')!r} not found in {context}")
    role = _our_role(service)
    environment = compose_environment(service)
    if role is None:
        for key, value in environment.items():
            if is_secret(key) and not secret_is_interpolated(value):
                problems.append(f"{name}: {key} is written inline; take it from the environment")
        return problems
    if not build:
        problems.append(f"{name}: image {service.get('image')} has no build section")
    argv = [str(arg) for arg in service.get("command", [])]
    problems += command_problems(argv, name)
    test = [str(word) for word in service.get("healthcheck", {}).get("test", [])]
    wanted = {"service": "/readyz", "demo-shop": "/healthz", "actions": "/health", "rasa": "/status"}
    if name in wanted and wanted[name] not in " ".join(test):
        problems.append(f"{name}: the healthcheck does not ask {wanted[name]}")
    port = listen_address(argv, {key: interpolate(value) for key, value in environment.items()})[1]
    problems += inline_script_problems(f"{name} healthcheck", test, port)
    grace = _seconds(str(service.get("stop_grace_period", "10s")))
    problem = graceful_stop_problem(name, argv, grace)
    if problem:
        problems.append(problem)
    for key, value in environment.items():
        if key not in known_settings():
            problems.append(f"{name}: {key} is not a setting any process reads")
        if is_secret(key) and key not in SECRET_BY_CONTENT and not secret_is_interpolated(value):
            problems.append(f"{name}: {key} is written inline; take it from the environment")
        if "://" in value:
            problem = url_password_problem(value)
            if problem:
                problems.append(f"{name}: {key}: {problem}")
            problems += _address_problems(f"{name}: {key}", interpolate(value), listening)
    return problems


def _address_problems(where: str, url: str, listening: dict[str, set[int]]) -> list[str]:
    parsed = urlparse(url)
    if parsed.hostname not in listening:
        return [f"{where}: {parsed.hostname!r} is not a service of this file that listens"]
    if parsed.port and parsed.port not in listening[parsed.hostname]:
        return [f"{where}: {parsed.hostname} listens on {sorted(listening[parsed.hostname])}, "
                f"not {parsed.port}"]
    return []


def _compose_nginx_problems(services: dict[str, dict], nginx: list[Directive]) -> list[str]:
    problems = []
    mounts = [str(volume).split(":") for volume in services["nginx"].get("volumes", [])]
    sources = [(COMPOSE_FILE.parent / mount[0]).resolve() for mount in mounts]
    if NGINX_CONF.resolve() not in sources:
        problems.append("nginx: deploy/nginx/compose.conf is not mounted")
    ports = [str(port) for port in services["nginx"].get("ports", [])]
    listens = {port for server in nginx_servers(nginx) for port in server.listens}
    for port in ports:
        target = int(interpolate(port).rsplit(":", 1)[-1])
        if target not in listens:
            problems.append(f"nginx: publishes container port {target}, where it does not listen")
    # What nginx forwards to must be a service listening there.
    listening = _compose_listening(services, nginx, [])
    for server in nginx_servers(nginx):
        for target in server.proxy_targets:
            problems += _address_problems(f"nginx :{sorted(server.listens)}", target, listening)
    return problems


# --- nginx --------------------------------------------------------------------------------------

@dataclass
class Directive:
    name: str
    args: list[str]
    block: Optional[list[Directive]]
    line: int


class NginxSyntaxError(ValueError):
    pass


NGINX_TOKEN = re.compile(r"""\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([{};])|([^\s{};"']+))""")
NGINX_DIRECTIVES = {
    "resolver", "map", "server", "listen", "server_name", "client_max_body_size", "set",
    "location", "access_log", "error_log", "return", "proxy_pass", "proxy_http_version",
    "proxy_set_header", "proxy_read_timeout", "proxy_send_timeout", "proxy_connect_timeout",
    "proxy_buffering", "proxy_next_upstream", "proxy_next_upstream_tries", "upstream", "keepalive",
    "zone", "add_header", "gzip", "if", "rewrite", "root", "default_type",
}
# How many arguments a directive takes, where nginx fixes it (a lost ';' shows up here).
NGINX_ARITY = {"proxy_http_version": (1, 1), "proxy_pass": (1, 1), "proxy_set_header": (2, 2),
               "proxy_read_timeout": (1, 1), "proxy_send_timeout": (1, 1), "set": (2, 2),
               "proxy_buffering": (1, 1), "proxy_next_upstream_tries": (1, 1), "return": (1, 2),
               "client_max_body_size": (1, 1), "map": (2, 2), "location": (1, 2), "server": (0, 0)}


def parse_nginx(text: str) -> list[Directive]:
    """nginx's grammar: directives end with ';' or open a '{' block; '#' starts a comment."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    line, position = 1, 0
    while position < len(text):
        match = NGINX_TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip():
                raise NginxSyntaxError(f"line {line}: cannot read {text[position:position + 20]!r}")
            break
        line += text.count("\n", position, match.end())
        position = match.end()
        comment, quoted, symbol, word = match.groups()
        if comment:
            continue
        if quoted or word:
            words.append(quoted[1:-1] if quoted else word)
        elif symbol == ";":
            if not words:
                raise NginxSyntaxError(f"line {line}: ';' without a directive")
            stack[-1].append(Directive(words[0], words[1:], None, line))
            words = []
        elif symbol == "{":
            if not words:
                raise NginxSyntaxError(f"line {line}: '{{' without a directive")
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block, line))
            stack.append(block)
            words = []
        elif symbol == "}":
            if words:
                raise NginxSyntaxError(f"line {line}: {' '.join(words)!r} is missing its ';'")
            if len(stack) == 1:
                raise NginxSyntaxError(f"line {line}: '}}' closes nothing")
            stack.pop()
    if words:
        raise NginxSyntaxError(f"line {line}: {' '.join(words)!r} is missing its ';'")
    if len(stack) != 1:
        raise NginxSyntaxError("a '{' is never closed")
    _check_directive_names(stack[0])
    return stack[0]


def _check_directive_names(directives: list[Directive]) -> None:
    for directive in directives:
        if directive.name not in NGINX_DIRECTIVES:
            raise NginxSyntaxError(f"line {directive.line}: unknown directive {directive.name!r}")
        least, most = NGINX_ARITY.get(directive.name, (0, 99))
        if not least <= len(directive.args) <= most:
            raise NginxSyntaxError(f"line {directive.line}: {directive.name} takes {least}-{most} "
                                   f"arguments, got {len(directive.args)}")
        if directive.block is not None and directive.name != "map":  # a map's lines are data
            _check_directive_names(directive.block)


@cache
def nginx_config() -> list[Directive]:
    return parse_nginx(NGINX_CONF.read_text(encoding="utf-8"))


@dataclass
class Server:
    listens: set[int]
    locations: list[Directive]
    variables: dict[str, str]

    @property
    def proxy_targets(self) -> list[str]:
        targets = []
        for location in self.locations:
            for directive in location.block or []:
                if directive.name == "proxy_pass":
                    target = directive.args[0]
                    targets.append(self.variables.get(target.lstrip("$"), target)
                                   if target.startswith("$") else target)
        return targets

    def location_for(self, path: str) -> Optional[Directive]:
        """nginx's choice: an exact match, else the first matching regex, else the longest prefix."""
        prefixes = []
        for location in self.locations:
            args = location.args
            if args[0] == "=" and args[1] == path:
                return location
            if args[0] in ("~", "~*"):
                flags = re.IGNORECASE if args[0] == "~*" else 0
                if re.search(args[1], path, flags):
                    return location
            elif args[0] != "=" and path.startswith(args[-1]):
                prefixes.append(location)
        return max(prefixes, key=lambda location: len(location.args[-1]), default=None)


def nginx_servers(config: list[Directive]) -> list[Server]:
    servers = []
    for directive in config:
        if directive.name != "server":
            continue
        block = directive.block or []
        listens = {int(item.args[0].rsplit(":", 1)[-1]) for item in block if item.name == "listen"}
        variables = {item.args[0].lstrip("$"): item.args[1] for item in block if item.name == "set"}
        locations = [item for item in block if item.name == "location"]
        servers.append(Server(listens, locations, variables))
    return servers


def _settings(location: Directive) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for directive in location.block or []:
        found.setdefault(directive.name, []).append(directive.args)
    return found


def nginx_problems(config: list[Directive]) -> list[str]:
    problems = []
    maps = {tuple(item.args) for item in config if item.name == "map"}
    if ("$http_upgrade", "$connection_upgrade") not in maps:
        problems.append("no `map $http_upgrade $connection_upgrade` for WebSocket upgrades")
    front = [server for server in nginx_servers(config) if 80 in server.listens]
    if not front:
        return problems + ["no server listens on port 80"]
    for path in websocket_paths():
        location = front[0].location_for(path)
        if location is None:
            problems.append(f"{path}: no location serves it")
            continue
        settings = _settings(location)
        headers = {tuple(args[:2]) for args in settings.get("proxy_set_header", [])}
        if ["1.1"] not in settings.get("proxy_http_version", []):
            problems.append(f"{path}: WebSockets need proxy_http_version 1.1")
        if ("Upgrade", "$http_upgrade") not in headers:
            problems.append(f"{path}: the Upgrade header is not passed on")
        if ("Connection", "$connection_upgrade") not in headers:
            problems.append(f"{path}: the Connection header is not set to $connection_upgrade")
        timeouts = settings.get("proxy_read_timeout", [])
        if not timeouts or _seconds(timeouts[-1][0]) < 300:
            problems.append(f"{path}: idle WebSockets need a proxy_read_timeout of minutes")
    return problems


def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()
    return int(number) * {"ms": 0, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}[unit]


# --- Kubernetes ---------------------------------------------------------------------------------

@cache
def kubernetes_definitions() -> dict:
    return json.loads((FIXTURES / "kubernetes-strict.json").read_text())["$defs"]


def kubernetes_schema_problems(document: dict) -> list[str]:
    key = f"{document.get('apiVersion')}/{document.get('kind')}"
    definitions = kubernetes_definitions()
    if key not in definitions:
        return [f"{key}: no schema for this kind (add it to vendor_schemas.py)"]
    pointer = key.replace("~", "~0").replace("/", "~1")
    validator = Draft202012Validator({"$defs": definitions, "$ref": f"#/$defs/{pointer}"})
    name = document.get("metadata", {}).get("name")
    return [f"{key} {name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def load_k8s() -> dict[str, list[dict]]:
    return {path.name: [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
            for path in sorted(K8S_DIR.glob("*.yaml"))}


def _matches_labels(selector: dict, labels: dict) -> bool:
    """A label selector: matchLabels, and In/NotIn/Exists expressions; or a plain label map."""
    match_labels = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression.get("values", []):
            return False
        if operator == "NotIn" and value in expression.get("values", []):
            return False
        if operator == "Exists" and expression["key"] not in labels:
            return False
    return True


def _workloads(documents: list[dict]) -> list[dict]:
    return [doc for doc in documents if doc["kind"] in ("Deployment", "StatefulSet")]


def _pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def _container_env(container: dict, configmaps: dict[str, dict]) -> dict[str, str]:
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps.get(source["configMapRef"]["name"], {}))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "<from a reference>")
    return env


def k8s_problems(files: dict[str, list[dict]]) -> list[str]:
    problems = []
    documents = [doc for name, docs in files.items() if name != "kustomization.yaml" for doc in docs]
    for document in documents:
        problems += kubernetes_schema_problems(document)
    if problems:
        return problems
    problems += _kustomization_problems(files)
    configmaps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in documents
                  if doc["kind"] == "ConfigMap"}
    for document in documents:
        if document["kind"] == "Secret":
            problems.append(f"Secret {document['metadata']['name']}: secret values do not belong "
                            "in the repository (create the Secret in the cluster)")
    for name, data in configmaps.items():
        for key, value in data.items():
            if key not in known_settings():
                problems.append(f"ConfigMap {name}: {key} is not a setting any process reads")
            if is_secret(key) or url_password_problem(str(value)):
                problems.append(f"ConfigMap {name}: {key} is a secret; it belongs in the Secret")
    workloads = _workloads(documents)
    by_component = {_pod_labels(w).get("app.kubernetes.io/component"): w for w in workloads}
    for component in SCALED:
        workload = by_component.get(component)
        if workload is None or workload["kind"] != "Deployment":
            problems.append(f"no Deployment for {component}")
        elif workload["spec"].get("replicas") != 2:
            problems.append(f"Deployment {component}: replicas {workload['spec'].get('replicas')}, want 2")
    for workload in workloads:
        problems += _workload_problems(workload, configmaps)
    problems += _service_problems(documents, workloads, configmaps)
    problems += _disruption_budget_problems(documents, workloads)
    problems += _redis_problems(by_component.get("redis"))
    problems += _selector_problems(documents, workloads)
    problems += _k8s_kb_problems(documents, workloads, configmaps)
    return problems


def _kustomization_problems(files: dict[str, list[dict]]) -> list[str]:
    [kustomization] = files.get("kustomization.yaml", [{}])
    listed = set(kustomization.get("resources", []))
    present = set(files) - {"kustomization.yaml"}
    problems = [f"kustomization.yaml lists {name}, which does not exist" for name in listed - present]
    problems += [f"{name} is not listed in kustomization.yaml" for name in present - listed]
    for image in kustomization.get("images", []):
        if image["name"] not in OUR_IMAGES:
            problems.append(f"kustomization.yaml: image {image['name']} is not one we build")
    return problems


def _workload_problems(workload: dict, configmaps: dict[str, dict]) -> list[str]:
    name = f"{workload['kind']} {workload['metadata']['name']}"
    spec = workload["spec"]
    pod = spec["template"]["spec"]
    problems = []
    if not _matches_labels(spec["selector"], _pod_labels(workload)):
        problems.append(f"{name}: its selector does not match its own pods")
    if "terminationGracePeriodSeconds" not in pod:
        problems.append(f"{name}: no terminationGracePeriodSeconds (graceful shutdown)")
    for init in pod.get("initContainers", []):
        where = f"{name}/{init['name']}"
        problems += command_problems(init.get("command", []) + init.get("args", []), where)
        problems += _container_env_problems(where, init, configmaps)
    for container in pod["containers"]:
        where = f"{name}/{container['name']}"
        resources = container.get("resources", {})
        if "memory" not in resources.get("requests", {}) or "memory" not in resources.get("limits", {}):
            problems.append(f"{where}: memory requests and limits are required")
        for probe in ("readinessProbe", "livenessProbe"):
            if probe not in container:
                problems.append(f"{where}: no {probe}")
        component = _pod_labels(workload).get("app.kubernetes.io/component", "")
        problems += _probe_problems(where, component, container, configmaps)
        problems += _container_env_problems(where, container, configmaps)
        image = container.get("image", "")
        repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        if repository.startswith("xiaoshou/"):
            if repository not in OUR_IMAGES:
                problems.append(f"{where}: image {image} is not one deploy/docker builds")
            argv = container.get("command", []) + container.get("args", [])
            problems += command_problems(argv, where)
            host, port = listen_address(argv, _container_env(container, configmaps))
            ports = {item["containerPort"] for item in container.get("ports", [])}
            if host != "0.0.0.0":
                problems.append(f"{where}: listens on {host!r}, unreachable from other pods")
            if port not in ports:
                problems.append(f"{where}: listens on {port}, but declares ports {sorted(ports)}")
            pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            before = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
            problem = graceful_stop_problem(where, argv, pod.get("terminationGracePeriodSeconds", 30),
                                            before)
            if problem:
                problems.append(problem)
        elif not image:
            problems.append(f"{where}: no image")
    return problems


def _probe_problems(where: str, component: str, container: dict,
                    configmaps: dict[str, dict]) -> list[str]:
    problems = []
    ports = {item.get("name"): item["containerPort"] for item in container.get("ports", [])}
    argv = container.get("command", []) + container.get("args", [])
    listening = listen_address(argv, _container_env(container, configmaps))[1]
    for kind in ("readiness", "liveness", "startup"):
        probe = container.get(f"{kind}Probe")
        command = (probe or {}).get("exec", {}).get("command", [])
        problems += inline_script_problems(f"{where} {kind} probe", command, listening)
        http = (probe or {}).get("httpGet")
        if not http:
            continue
        port = http["port"]
        if port not in ports and port not in ports.values():
            problems.append(f"{where}: {kind} probe port {port!r} is not a container port")
        wanted = PROBE_PATHS.get(component, {}).get(kind)
        if wanted and http.get("path") != wanted:
            problems.append(f"{where}: {kind} probe asks {http.get('path')!r}, want {wanted!r}")
        if component == "service" and service_routes().get(
                str(http.get("path")).partition("?")[0]) != "http":
            problems.append(f"{where}: {kind} probe path {http.get('path')!r} is not a route")
    return problems


def _container_env_problems(where: str, container: dict, configmaps: dict[str, dict]) -> list[str]:
    problems = []
    ours = container.get("image", "").startswith("xiaoshou/")
    for source in container.get("envFrom", []):
        reference = source.get("configMapRef")
        if reference and reference["name"] not in configmaps:
            problems.append(f"{where}: envFrom names ConfigMap {reference['name']!r}, not defined here")
        if "secretRef" in source:
            problems.append(f"{where}: envFrom secretRef hides which secrets it takes; name each")
    for item in container.get("env", []):
        name = item["name"]
        if ours and name not in known_settings():
            problems.append(f"{where}: {name} is not a setting any process reads")
        if "value" in item and (is_secret(name) or url_password_problem(str(item["value"]))):
            problems.append(f"{where}: {name} is inline; take it from the Secret (secretKeyRef)")
        reference = item.get("valueFrom", {}).get("secretKeyRef")
        if reference and reference.get("key") != name:
            problems.append(f"{where}: {name} comes from Secret key {reference.get('key')!r}")
    return problems


def _service_problems(documents: list[dict], workloads: list[dict],
                      configmaps: dict[str, dict]) -> list[str]:
    problems = []
    listening: dict[str, set[int]] = {}
    for service in (doc for doc in documents if doc["kind"] == "Service"):
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector", {})
        pods = [w for w in workloads if _matches_labels(selector, _pod_labels(w))]
        if not pods:
            problems.append(f"Service {name}: its selector matches no Deployment's or StatefulSet's pods")
            continue
        containers = [c for w in pods for c in w["spec"]["template"]["spec"]["containers"]]
        named = {p.get("name"): p["containerPort"] for c in containers for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if target not in named and target not in named.values():
                problems.append(f"Service {name}: targetPort {target!r} is no container port of its pods")
            listening.setdefault(name, set()).add(port["port"])
    for configmap, data in configmaps.items():
        for key, value in data.items():
            if "://" in str(value):
                problems += _address_problems(f"ConfigMap {configmap}: {key}", str(value), listening)
    for ingress in (doc for doc in documents if doc["kind"] == "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                service = next((doc for doc in documents if doc["kind"] == "Service"
                                and doc["metadata"]["name"] == backend["name"]), None)
                port_names = {p.get("name") for p in (service or {}).get("spec", {}).get("ports", [])}
                if service is None or backend["port"].get("name", "") not in port_names | {""}:
                    problems.append(f"Ingress {ingress['metadata']['name']}: "
                                    f"backend {backend} does not exist")
    return problems


def _disruption_budget_problems(documents: list[dict], workloads: list[dict]) -> list[str]:
    budgets = [doc for doc in documents if doc["kind"] == "PodDisruptionBudget"]
    problems = []
    for workload in workloads:
        if workload["spec"].get("replicas", 1) < 2:
            continue
        if not any(_matches_labels(budget["spec"]["selector"], _pod_labels(workload)) for budget in budgets):
            problems.append(f"{workload['kind']} {workload['metadata']['name']}: no PodDisruptionBudget")
    return problems


def _redis_problems(redis: Optional[dict]) -> list[str]:
    if redis is None:
        return []  # a managed Redis, addressed by REDIS_URL
    if redis["kind"] != "StatefulSet":
        return ["redis: run it as a StatefulSet (its AOF needs a stable volume)"]
    [container] = redis["spec"]["template"]["spec"]["containers"]
    problems = []
    if "--appendonly yes" not in " ".join(container.get("command", []) + container.get("args", [])):
        problems.append("redis: AOF is off (want --appendonly yes)")
    claims = {claim["metadata"]["name"] for claim in redis["spec"].get("volumeClaimTemplates", [])}
    mounted = {mount["name"] for mount in container.get("volumeMounts", [])}
    if not claims & mounted:
        problems.append("redis: its data is not on a persistent volume claim")
    return problems


def _selector_problems(documents: list[dict], workloads: list[dict]) -> list[str]:
    """NetworkPolicies and the pods they name must exist, or the policy protects nothing."""
    problems = []
    labels = [_pod_labels(workload) for workload in workloads]
    for policy in (doc for doc in documents if doc["kind"] == "NetworkPolicy"):
        name = policy["metadata"]["name"]
        selectors = [policy["spec"]["podSelector"]]
        selectors += [peer["podSelector"] for rule in policy["spec"].get("ingress", [])
                      for peer in rule.get("from", []) if "podSelector" in peer]
        for selector in selectors:
            if not any(_matches_labels(selector, pod) for pod in labels):
                problems.append(f"NetworkPolicy {name}: {selector} matches no pods")
    return problems


# --- the FAQ editor's shared files -----------------------------------------------------------------

@dataclass
class KbMount:
    """Where one container finds the FAQ's live files: KNOWLEDGE_BASE_DIR, and the shared
    volume (compose volume, Kubernetes claim) mounted at exactly that path, if any."""
    where: str
    path: Optional[str]
    volume: Optional[str]
    read_only: bool = False

    def seeds(self, user: KbMount) -> bool:
        return self.path == user.path and self.volume == user.volume and not self.read_only


def kb_mount_problems(mount: KbMount, writes: bool) -> list[str]:
    if not mount.path:
        return [f"{mount.where}: KNOWLEDGE_BASE_DIR is not set: it would edit or serve its own "
                "copy of the FAQ"]
    problems = []
    path = mount.path.rstrip("/")
    if path == PACKAGE_DIR or path.startswith(PACKAGE_DIR + "/") or PACKAGE_DIR.startswith(path + "/"):
        problems.append(f"{mount.where}: KNOWLEDGE_BASE_DIR {mount.path} is over the knowledge_base "
                        "package; a volume there hides the code")
    if mount.volume is None:
        problems.append(f"{mount.where}: no shared volume is mounted at KNOWLEDGE_BASE_DIR "
                        f"({mount.path}): it works on a copy of the FAQ no other container sees")
    elif writes and mount.read_only:
        problems.append(f"{mount.where}: the knowledge base volume is read-only, but it writes there")
    return problems


def kb_sharing_problems(mounts: list[KbMount]) -> list[str]:
    if len({mount.volume for mount in mounts}) > 1:
        return ["the FAQ's live files are not one volume: "
                + ", ".join(f"{mount.where} has {mount.volume}" for mount in mounts)]
    return []


def _compose_kb_mount(name: str, service: dict) -> KbMount:
    path = compose_environment(service).get("KNOWLEDGE_BASE_DIR")
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target, read_only = volume.get("source"), volume.get("target"), volume.get("read_only")
        else:
            source, target, *mode = str(volume).split(":")
            read_only = "ro" in mode
        if path and target == path:
            return KbMount(name, path, source, bool(read_only))
    return KbMount(name, path, None)


def _compose_kb_problems(compose: dict) -> list[str]:
    services = compose["services"]
    mounts = [_compose_kb_mount(name, services[name]) for name in KB_USERS]
    problems = kb_sharing_problems(mounts)
    for mount in mounts:
        problems += kb_mount_problems(mount, writes=mount.where == "service")
        if mount.volume and mount.volume not in (compose.get("volumes") or {}):
            problems.append(f"{mount.where}: {mount.volume!r} is not a named volume of this file")
        seeders = [_compose_kb_mount(job, services[job])
                   for job, condition in _depends_on(services[mount.where]).items()
                   if condition.get("condition") == "service_completed_successfully"
                   and [str(arg) for arg in services.get(job, {}).get("command", [])] == SEED_COMMAND]
        if mount.volume and not any(seeder.seeds(mount) for seeder in seeders):
            problems.append(f"{mount.where}: may start before its knowledge base volume is seeded "
                            "(depends_on a `python -m knowledge_base seed` job on the same volume, "
                            "condition service_completed_successfully)")
    return problems


def _k8s_kb_mount(where: str, container: dict, pod: dict, configmaps: dict[str, dict]) -> KbMount:
    path = _container_env(container, configmaps).get("KNOWLEDGE_BASE_DIR")
    claims = {volume["name"]: volume["persistentVolumeClaim"]["claimName"]
              for volume in pod.get("volumes", []) if "persistentVolumeClaim" in volume}
    for mount in container.get("volumeMounts", []):
        if path and mount["mountPath"] == path:
            return KbMount(where, path, claims.get(mount["name"]), mount.get("readOnly", False))
    return KbMount(where, path, None)


def _k8s_kb_problems(documents: list[dict], workloads: list[dict],
                     configmaps: dict[str, dict]) -> list[str]:
    by_component = {_pod_labels(w).get("app.kubernetes.io/component"): w for w in workloads}
    mounts, problems = [], []
    for component in KB_USERS:
        if component not in by_component:
            continue  # reported as a missing Deployment
        pod = by_component[component]["spec"]["template"]["spec"]
        where = f"Deployment {component}"
        mount = _k8s_kb_mount(where, pod["containers"][0], pod, configmaps)
        mounts.append(mount)
        problems += kb_mount_problems(mount, writes=component == "service")
        seeders = [_k8s_kb_mount(where, init, pod, configmaps) for init in pod.get("initContainers", [])
                   if init.get("command", []) + init.get("args", []) == SEED_COMMAND]
        if mount.volume and not any(seeder.seeds(mount) for seeder in seeders):
            problems.append(f"{where}: no initContainer seeds its knowledge base volume "
                            "(`python -m knowledge_base seed` on the same claim and path)")
    claims = {doc["metadata"]["name"]: doc for doc in documents
              if doc["kind"] == "PersistentVolumeClaim"}
    for claim in sorted({mount.volume for mount in mounts if mount.volume}):
        if claim not in claims:
            problems.append(f"PersistentVolumeClaim {claim}: mounted, but not defined here")
        elif "ReadWriteMany" not in claims[claim]["spec"].get("accessModes", []):
            problems.append(f"PersistentVolumeClaim {claim}: replicas on several nodes mount it: "
                            "accessModes must include ReadWriteMany")
    return problems + kb_sharing_problems(mounts)


# --- the real files -----------------------------------------------------------------------------

def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def test_compose_file_is_valid_and_means_what_it_should():
    assert compose_problems(load_compose()) == []


def test_compose_takes_every_secret_from_the_environment():
    """Compose refuses to start without the required secrets rather than running with none."""
    services = load_compose()["services"]
    required = {"APP_TOKEN_SECRET", "RASA_AUTH_TOKEN", "SHOP_API_KEY"}
    for key in required:
        values = [compose_environment(s).get(key) for s in services.values()]
        present = [value for value in values if value is not None]
        pattern = re.compile(r"\$\{" + key + r":\?[^}]+\}")
        assert present and all(pattern.fullmatch(value) for value in present), key


def test_kubernetes_manifests_are_valid_and_mean_what_they_should():
    files = load_k8s()
    assert {"kustomization.yaml", "configmap.yaml", "redis.yaml", "rasa.yaml", "actions.yaml",
            "service.yaml"} <= set(files)
    assert k8s_problems(files) == []


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_parses_and_its_image_holds_what_its_processes_need(name):
    problems, image = dockerfile_problems(DOCKERFILES[name].read_text(encoding="utf-8"))
    assert problems == []
    assert image_content_problems(name, image) == []


def test_compose_and_kubernetes_run_the_images_the_dockerfiles_build():
    built = {str(service["image"]).split(":")[0]: service["build"]["dockerfile"]
             for service in load_compose()["services"].values() if "build" in service}
    assert built == {"xiaoshou/rasa": "deploy/docker/Dockerfile.rasa",
                     "xiaoshou/service": "deploy/docker/Dockerfile.service"}


def test_nginx_config_parses_and_upgrades_websockets():
    assert nginx_problems(nginx_config()) == []


def nginx_test(config: Path, scratch: Path) -> subprocess.CompletedProcess:
    """nginx -t, with the file included in an http block as the nginx image's nginx.conf does."""
    conf = scratch / "nginx.conf"
    temp_paths = " ".join(f"{kind}_temp_path {scratch / kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"pid {scratch / 'nginx.pid'};\nevents {{}}\n"
                    f"http {{ access_log off; {temp_paths} include {config}; }}\n")
    return subprocess.run(["nginx", "-t", "-p", str(scratch), "-e", str(scratch / "error.log"),
                           "-c", str(conf)], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here")
def test_nginx_itself_accepts_the_config_and_refuses_a_broken_copy(tmp_path):
    result = nginx_test(NGINX_CONF, tmp_path)
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(NGINX_CONF.read_text(encoding="utf-8").replace("proxy_buffering off;",
                                                                     "proxy_buffering off"))
    result = nginx_test(broken, tmp_path)
    assert result.returncode != 0 and "broken.conf" in result.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed here")
def test_kustomize_renders_every_object_into_the_namespace():
    result = subprocess.run(["kubectl", "kustomize", str(K8S_DIR)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    expected = sum(len(docs) for name, docs in load_k8s().items() if name != "kustomization.yaml")
    assert len(rendered) == expected
    assert all(doc["metadata"].get("namespace") == "xiaoshou"
               for doc in rendered if doc["kind"] != "Namespace")


def test_compose_shares_one_knowledge_base_volume_between_service_and_actions():
    """Every service replica and action server sees an editor's save: one named volume, mounted
    where KNOWLEDGE_BASE_DIR points, filled by the seed job before either starts."""
    compose = load_compose()
    services = compose["services"]
    mounts = {name: _compose_kb_mount(name, services[name]) for name in (*KB_USERS, "kb-seed")}
    assert {mount.volume for mount in mounts.values()} == {"kb"} and "kb" in compose["volumes"]
    assert {mount.path for mount in mounts.values()} == {"/var/lib/xiaoshou/kb"}
    assert (mounts["service"].read_only, mounts["actions"].read_only) == (False, True)
    for name in KB_USERS:
        assert services[name]["depends_on"]["kb-seed"] == {"condition": "service_completed_successfully"}
    assert services["kb-seed"]["command"] == SEED_COMMAND


def test_kubernetes_shares_one_read_write_many_claim_between_service_and_actions():
    files = load_k8s()
    [claim] = files["knowledge-base.yaml"]
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteMany"]
    configmap = _find(files, "ConfigMap", "xiaoshou-config")["data"]
    for name in KB_USERS:
        pod = _find(files, "Deployment", name)["spec"]["template"]["spec"]
        mounts = [_k8s_kb_mount(name, container, pod, {"xiaoshou-config": configmap})
                  for container in (*pod["containers"], *pod["initContainers"])]
        assert {(mount.path, mount.volume) for mount in mounts} == {
            (configmap["KNOWLEDGE_BASE_DIR"], claim["metadata"]["name"])}, name
        assert [init["command"] for init in pod["initContainers"]] == [SEED_COMMAND]


def test_vendored_schemas_are_real_validators():
    """The strict schema refuses unknown fields, and compose's refuses unknown keys."""
    assert kubernetes_schema_problems({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "x"}, "dta": {}})
    assert list(compose_schema().iter_errors({"services": {"x": {"imag": "redis"}}}))


def test_the_setting_names_come_from_the_code():
    settings = known_settings()
    assert {"REDIS_URL", "APP_TOKEN_SECRET", "WECHAT_TOKEN", "TELEGRAM_BOT_TOKEN", "SHOP_DB_PATH",
            "RASA_HOST", "ACTIONS_PORT", "KUAIDI100_KEY", "RASA_EVENT_BROKER_URL",
            "KNOWLEDGE_BASE_DIR"} <= settings
    assert "REDIS_ULR" not in settings


def test_dockerignore_keeps_the_heldout_set_and_drops_the_environments():
    assert not is_dockerignored("tests/nlu/heldout.yml")
    assert is_dockerignored("tests/service/test_app_auth.py")
    assert is_dockerignored(".venv-rasa/bin/python")
    assert is_dockerignored("bot/__pycache__/cli.cpython-310.pyc")
    assert not is_dockerignored("models/xiaoshou.tar.gz")  # the Rasa build takes a current model


# --- broken copies are caught -------------------------------------------------------------------

def _edit_compose(change: Callable[[dict], Any]) -> dict:
    compose = copy.deepcopy(load_compose())
    change(compose)
    return compose


BROKEN_COMPOSE = {
    "one rasa": (lambda c: c["services"]["rasa"]["deploy"].update(replicas=1), "replicas"),
    "secret inline": (lambda c: c["services"]["service"]["environment"].update(
        APP_TOKEN_SECRET="s3cret-s3cret-s3cret-s3cret-s3cret-42"), "inline"),
    "secret default": (lambda c: c["services"]["service"]["environment"].update(
        RASA_AUTH_TOKEN="${RASA_AUTH_TOKEN:-changeme}"), "inline"),
    "password in url": (lambda c: c["services"]["rasa"]["environment"].update(
        DATABASE_URL="postgresql+psycopg://xiaoshou:hunter2@postgres:5432/xiaoshou"), "password"),
    "unknown setting": (lambda c: c["services"]["service"]["environment"].update(
        REDIS_ULR="redis://redis:6379/0"), "REDIS_ULR"),
    "schema": (lambda c: c["services"]["redis"].update(helthcheck={}), "schema"),
    "no healthcheck": (lambda c: c["services"]["actions"].pop("healthcheck"), "healthcheck"),
    "probe": (lambda c: c["services"]["service"]["healthcheck"].update(
        test=["CMD", "true"]), "/readyz"),
    "no aof": (lambda c: c["services"]["redis"].update(command=["redis-server"]), "AOF"),
    "dockerfile": (lambda c: c["services"]["rasa"]["build"].update(
        dockerfile="deploy/docker/Dockerfile.nope"), "Dockerfile"),
    "wrong port": (lambda c: c["services"]["service"]["environment"].update(
        SHOP_API_URL="http://demo-shop:8101/api/v1"), "8101"),
    "loopback": (lambda c: c["services"]["actions"]["environment"].update(
        ACTIONS_HOST="127.0.0.1"), "listens on"),
    "module": (lambda c: c["services"]["rasa"].update(
        command=["python", "-m", "bot", "serve"]), "python -m bot"),
    "published": (lambda c: c["services"]["redis"].update(ports=["6379:6379"]), "publishes"),
    "script": (lambda c: c["services"]["rasa"]["healthcheck"]["test"].__setitem__(
        3, "import json, os; assert json.load("), "compile"),
    "script port": (lambda c: c["services"]["actions"]["healthcheck"].update(test=[
        "CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/health')"]),
        "port"),
    "grace": (lambda c: c["services"]["service"].update(stop_grace_period="10s"), "too short"),
    "kb own copy": (lambda c: c["services"]["actions"].pop("volumes"), "no shared volume"),
    "kb two volumes": (lambda c: (c["volumes"].update({"kb2": None}), c["services"]["actions"].update(
        volumes=[{"type": "volume", "source": "kb2", "target": "/var/lib/xiaoshou/kb"}])),
        "not one volume"),
    "kb elsewhere": (lambda c: c["services"]["service"]["environment"].update(
        KNOWLEDGE_BASE_DIR="/srv/kb"), "no shared volume is mounted at"),
    "kb unset": (lambda c: c["services"]["actions"]["environment"].pop("KNOWLEDGE_BASE_DIR"),
                 "KNOWLEDGE_BASE_DIR is not set"),
    "kb over package": (lambda c: c["services"]["service"].update(
        environment={**c["services"]["service"]["environment"], "KNOWLEDGE_BASE_DIR": PACKAGE_DIR},
        volumes=[{"type": "volume", "source": "kb", "target": PACKAGE_DIR}]), "package"),
    "kb bind mount": (lambda c: c["services"]["actions"].update(
        volumes=["./kb:/var/lib/xiaoshou/kb:ro"]), "not a named volume"),
    "kb read-only": (lambda c: c["services"]["service"].update(
        volumes=["kb:/var/lib/xiaoshou/kb:ro"]), "read-only"),
    "kb not seeded": (lambda c: c["services"]["service"]["depends_on"].pop("kb-seed"), "seeded"),
    "seed again": (lambda c: c["services"]["kb-seed"].update(restart="unless-stopped"), "one-shot"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_COMPOSE))
def test_a_broken_compose_file_is_rejected(case):
    change, expected = BROKEN_COMPOSE[case]
    problems = compose_problems(_edit_compose(change))
    assert any(expected in problem for problem in problems), problems


def _find(files: dict[str, list[dict]], kind: str, name: str) -> dict:
    return next(doc for docs in files.values() for doc in docs
                if doc.get("kind") == kind and doc["metadata"]["name"] == name)


def _container(files: dict[str, list[dict]], name: str) -> dict:
    return _find(files, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def _secret_file(files: dict[str, list[dict]]) -> None:
    files["secret.yaml"] = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                             "stringData": {"APP_TOKEN_SECRET": "x" * 40}}]
    files["kustomization.yaml"][0]["resources"].append("secret.yaml")


BROKEN_K8S = {
    "selector": (lambda f: _find(f, "Service", "rasa")["spec"]["selector"].update(
        {"app.kubernetes.io/component": "rsa"}), "matches no"),
    "target port": (lambda f: _find(f, "Service", "actions")["spec"]["ports"][0].update(
        targetPort=5056), "targetPort"),
    "unknown field": (lambda f: _find(f, "Deployment", "service")["spec"].update(replica=2), "replica"),
    "replicas": (lambda f: _find(f, "Deployment", "actions")["spec"].update(replicas=1), "replicas"),
    "readiness path": (lambda f: _container(f, "service")["readinessProbe"]["httpGet"].update(
        path="/ready"), "/ready"),
    "probe port": (lambda f: _container(f, "service")["livenessProbe"]["httpGet"].update(
        port="web"), "probe port"),
    "inline secret": (lambda f: _container(f, "service")["env"].append(
        {"name": "RASA_AUTH_TOKEN", "value": "abc"}), "inline"),
    "secret manifest": (_secret_file, "Secret"),
    "unknown setting": (lambda f: _find(f, "ConfigMap", "xiaoshou-config")["data"].update(
        REDIS_ULR="redis://redis:6379/0"), "REDIS_ULR"),
    "address": (lambda f: _find(f, "ConfigMap", "xiaoshou-config")["data"].update(
        RASA_URL="http://rasa:5006"), "5006"),
    "grace period": (lambda f: _find(f, "Deployment", "service")["spec"]["template"]["spec"].pop(
        "terminationGracePeriodSeconds"), "terminationGracePeriodSeconds"),
    "no budget": (lambda f: f["rasa.yaml"].remove(_find(f, "PodDisruptionBudget", "rasa")),
                  "PodDisruptionBudget"),
    "image": (lambda f: _container(f, "actions").update(image="xiaoshou/actions:dev"), "image"),
    "listen host": (lambda f: _find(f, "ConfigMap", "xiaoshou-config")["data"].update(
        RASA_HOST="127.0.0.1"), "listens on"),
    "aof": (lambda f: _find(f, "StatefulSet", "redis")["spec"]["template"]["spec"]["containers"][0]
            .update(args=["--save", ""]), "AOF"),
    "unlisted file": (lambda f: f["kustomization.yaml"][0]["resources"].remove("rasa.yaml"),
                      "kustomization"),
    "probe script": (lambda f: _container(f, "rasa")["readinessProbe"]["exec"].update(
        command=["python", "-c", "import json; json.loads(("]), "compile"),
    "grace": (lambda f: _find(f, "Deployment", "service")["spec"]["template"]["spec"].update(
        terminationGracePeriodSeconds=30), "too short"),
    "kb one node": (lambda f: f["knowledge-base.yaml"][0]["spec"].update(
        accessModes=["ReadWriteOnce"]), "ReadWriteMany"),
    "kb per pod": (lambda f: _find(f, "Deployment", "actions")["spec"]["template"]["spec"].update(
        volumes=[{"name": "knowledge-base", "emptyDir": {}}]), "no shared volume"),
    "kb elsewhere": (lambda f: _find(f, "ConfigMap", "xiaoshou-config")["data"].update(
        KNOWLEDGE_BASE_DIR="/srv/kb"), "no shared volume is mounted at"),
    "kb no claim": (lambda f: f.update({"knowledge-base.yaml": []}), "not defined here"),
    "kb not seeded": (lambda f: _find(f, "Deployment", "service")["spec"]["template"]["spec"].pop(
        "initContainers"), "seeds"),
    "seed command": (lambda f: _find(f, "Deployment", "actions")["spec"]["template"]["spec"][
        "initContainers"][0].update(command=["python", "-m", "knowledge_bas", "seed"]), "no such module"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_K8S))
def test_broken_kubernetes_manifests_are_rejected(case):
    change, expected = BROKEN_K8S[case]
    files = copy.deepcopy(load_k8s())
    change(files)
    problems = k8s_problems(files)
    assert any(expected in problem for problem in problems), problems


BROKEN_DOCKERFILES = {
    "typo": (lambda text: text.replace("WORKDIR /app", "WORKDIRR /app"), "unknown instruction"),
    "run first": (lambda text: "RUN echo hi\n" + text, "FROM"),
    "missing source": (lambda text: text.replace(" bot/ bot/", " robot/ bot/"), "robot/"),
    "lock": (lambda text: text.replace("rasa.lock", "rasa.lok"), "does not exist"),
    "unfinished": (lambda text: text.rstrip() + " \\\n", "continued"),
    "module left out": (lambda text: text.replace("COPY --chown=xiaoshou:xiaoshou handoff/ handoff/\n",
                                                  ""), "handoff/"),
    "python": (lambda text: text.replace("python:3.10-slim-bookworm", "python:3.12-slim-bookworm"),
               "Python 3.10"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_DOCKERFILES))
def test_a_broken_dockerfile_is_rejected(case):
    change, expected = BROKEN_DOCKERFILES[case]
    text = change(DOCKERFILES["rasa"].read_text(encoding="utf-8"))
    problems, image = dockerfile_problems(text)
    if image is not None:
        problems += image_content_problems("rasa", image)
    assert any(expected in problem for problem in problems), problems


BROKEN_NGINX = {
    "semicolon": (lambda text: text.replace("proxy_http_version 1.1;", "proxy_http_version 1.1", 1),
                  "arguments"),
    "last semicolon": (lambda text: text.replace("proxy_next_upstream_tries 2;\n    }\n}",
                                                 "proxy_next_upstream_tries 2\n    }\n}"),
                       "missing its ';'"),
    "brace": (lambda text: text + "\nserver {\n", "never closed"),
    "typo": (lambda text: text.replace("proxy_read_timeout 3600s;", "proxy_read_timout 3600s;"),
             "unknown directive"),
    "no upgrade": (lambda text: text.replace("proxy_set_header Upgrade $http_upgrade;", "", 1),
                   "Upgrade"),
    "no map": (lambda text: re.sub(r"map \$http_upgrade[^}]*\}", "", text), "map"),
    "wrong upstream": (lambda text: text.replace("http://rasa:5005", "http://rasa:5006"), "5006"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_NGINX))
def test_a_broken_nginx_config_is_rejected(case):
    change, expected = BROKEN_NGINX[case]
    try:
        config = parse_nginx(change(NGINX_CONF.read_text(encoding="utf-8")))
    except NginxSyntaxError as error:
        problems = [str(error)]
    else:
        problems = nginx_problems(config) + _compose_nginx_problems(load_compose()["services"], config)
    assert any(expected in problem for problem in problems), problems
