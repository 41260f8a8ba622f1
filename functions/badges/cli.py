"""The `badges` command: serve the function, manage its database, run its batch jobs and mint
development tokens.

`badges serve` is what `make run` runs: it starts the embedded PostgreSQL unless DATABASE_URL
(or the Supabase store) is configured, applies the migrations, syncs the catalog and serves the
function on 127.0.0.1:$PORT until Ctrl-C, which stops the server and then the database.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeAlias
from uuid import UUID, uuid4

import jwt
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from badges import devdb, devtokens
from badges.actions import daily_check
from badges.catalog import load_catalog
from badges.delivery.worker import make_deliverer
from badges.errors import BadgesError
from badges.migrate import MigrationHistoryError, migrate
from badges.serve import (
    SERVE_HOST,
    SERVE_PORT,
    SERVE_THREADS,
    SERVE_WORKERS,
    port_number,
    port_problem,
    run_server,
    serve_concurrency,
    serve_port,
)
from badges.settings import DEV_JWT_SECRET, OPTIONAL_VARIABLES, Settings, SettingsError
from badges.store import make_store
from badges.store.db import BadgesDb, JsonObject

log = logging.getLogger("badges")

# Development user tokens live as long as Supabase Auth's access tokens by default.
USER_TOKEN_SECONDS = 3600
# Exit status of a command given a setting it cannot use (as of a bad command line).
BAD_SETTING = 2

DESCRIPTION = (
    "Serve the badges function, manage its database, run its batch jobs and mint development "
    "tokens. Settings come from the environment (README, Configuration): a bad one is named on "
    "one line, with exit status 2."
)
EPILOG = "`badges COMMAND --help` describes a command and its options."

# The Settings fields that Settings.from_env reads from variables of their own name; the others
# are in OPTIONAL_VARIABLES. A bad setting is reported under the variable the user sets.
NAMED_VARIABLES = {
    "store": "BADGES_STORE",
    "database_url": "DATABASE_URL",
    "supabase_url": "SUPABASE_URL",
    "supabase_service_key": "SUPABASE_SERVICE_ROLE_KEY",
    "jwt_secret": "SUPABASE_JWT_SECRET",
    "jwks_url": "SUPABASE_JWKS_URL",
    "jwt_issuers": "SUPABASE_JWT_ISSUER",
    "secret_keys": "SUPABASE_SECRET_KEYS",
    "cors_origins": "BADGES_CORS_ORIGINS",
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl line at INFO
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except SettingsError as exc:
        print(f"badges: {settings_problem(exc)}", file=sys.stderr)
        return BAD_SETTING
    except MigrationHistoryError as exc:
        print(f"badges: {exc}", file=sys.stderr)
        return 1
    return result


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's, but a line never breaks inside a hyphenated word (sync-catalog, --user)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _command(
    commands: Commands,
    name: str,
    summary: str,
    details: str,
    run: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """A command: its summary in `badges --help`, summary and details in its own --help."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. {details}",
        formatter_class=_HelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="badges", description=DESCRIPTION, epilog=EPILOG, formatter_class=_HelpFormatter
    )
    commands = parser.add_subparsers(
        required=True, title="commands", metavar="COMMAND", help="the command to run, one of:"
    )
    _serve_command(commands)
    _demo_command(commands)
    _database_commands(commands)
    _batch_commands(commands)
    _token_command(commands)
    return parser


def _serve_command(commands: Commands) -> None:
    serve = _command(
        commands,
        "serve",
        "prepare the database and serve the function until Ctrl-C (what `make run` runs)",
        "Starts the embedded PostgreSQL (data in BADGES_DATA_DIR, default .data/postgres) unless "
        "DATABASE_URL is set, applies the migrations, syncs the catalog (BADGES_CATALOG) and "
        f"serves with WORKERS x THREADS (default {SERVE_WORKERS} x {SERVE_THREADS}). Ctrl-C "
        "stops the server, then the database. A port in use is reported before anything starts.",
        _serve,
    )
    serve.add_argument(
        "--host", help=f"the address to listen on (default: $BADGES_HOST, else {SERVE_HOST})"
    )
    serve.add_argument(
        "--port",
        type=port_number,
        help=f"the port to listen on (default: $PORT, else {SERVE_PORT})",
    )


def _demo_command(commands: Commands) -> None:
    demo = _command(
        commands,
        "demo",
        "serve the web demo (examples/web) next to the function until Ctrl-C (what `make demo` "
        "runs)",
        "As `badges serve`, on its own embedded database (BADGES_DATA_DIR, default .data/demo) "
        "with the Dev-Space catalog and a few demo users; the page at /, the function at "
        "/functions/v1/badges, and a demo-only sign-in (POST /demo/token).",
        _demo,
    )
    demo.add_argument(
        "--host", help=f"the address to listen on (default: $BADGES_HOST, else {SERVE_HOST})"
    )
    demo.add_argument(
        "--port",
        type=port_number,
        help=f"the port to listen on (default: $PORT, else {SERVE_PORT})",
    )


def _database_commands(commands: Commands) -> None:
    _command(
        commands,
        "migrate",
        "apply supabase/migrations to the database",
        "The database of DATABASE_URL, else the embedded one. With the Supabase store "
        "(SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, no DATABASE_URL) it refuses: use "
        "`supabase db push` there.",
        _migrate,
    )
    _command(
        commands,
        "sync-catalog",
        "write the catalog file into the database",
        "The file BADGES_CATALOG names, else supabase/catalogs/default.toml.",
        _sync,
    )
    _command(
        commands,
        "consistency",
        "check the invariants between the tables (exit 1 on a violation)",
        "Prints the report as JSON.",
        _consistency,
    )


def _batch_commands(commands: Commands) -> None:
    printed = "Prints the job's answer as JSON; exit 1 when the job fails."
    _command(
        commands,
        "check-streaks",
        "award streak badges to all users (the v1 daily job)",
        printed,
        _check_streaks,
    )
    _command(
        commands,
        "check-badges",
        "archive the leaderboard periods that ended, award every automatic badge due and remove"
        " lapsed auto_revoke ones (the daily job)",
        printed,
        _check_badges,
    )
    backfill = _command(
        commands,
        "backfill",
        "award a new or changed badge to every user who already qualifies",
        f"{printed} Nothing is revoked.",
        _backfill,
    )
    backfill.add_argument(
        "--badge", metavar="ID", help="only this badge id (default: every automatic badge)"
    )
    backfill.add_argument(
        "--notify", action="store_true", help="write notifications too (default: none)"
    )
    deliver = _command(
        commands,
        "deliver-notifications",
        "send due notifications to the configured channels (webhook, Expo push)",
        printed,
        _deliver,
    )
    deliver.add_argument(
        "--max-seconds",
        type=float,
        default=50.0,
        metavar="SECONDS",
        help="stop starting batches after this many seconds (default: %(default)s)",
    )


def _token_command(commands: Commands) -> None:
    token = _command(
        commands,
        "token",
        "print a development JWT (a user token expires after an hour)",
        "Signed with SUPABASE_JWT_SECRET, else with the Supabase CLI's development secret, which "
        "`badges serve` accepts by default. The token goes to standard output and its expiry to "
        "standard error, so TOKEN=$(badges token ...) captures the token alone.",
        _token,
    )
    who = token.add_mutually_exclusive_group()
    who.add_argument(
        "--user",
        type=UUID,
        metavar="UUID",
        help="a user token for this user id (default: a new random id)",
    )
    who.add_argument(
        "--service", action="store_true", help="a service_role token (expires after 10 years)"
    )
    token.add_argument(
        "--expires-in",
        type=_positive_seconds,
        default=USER_TOKEN_SECONDS,
        metavar="SECONDS",
        help="how long a user token lasts (default: %(default)s, an hour)",
    )


def _positive_seconds(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds >= 1")
    return int(value)


def settings_problem(error: SettingsError, env: Mapping[str, str] | None = None) -> str:
    """The error on one line, each bad setting named by its variable with the rule it breaks.

    Settings reports pydantic's errors, which name the model's fields over several lines.
    """
    cause = error.__cause__
    if not isinstance(cause, ValidationError):
        return " ".join(str(error).split())
    env = os.environ if env is None else env
    return "invalid configuration: " + "; ".join(
        _field_problem(detail, env) for detail in cause.errors(include_url=False)
    )


def _field_problem(detail: ErrorDetails, env: Mapping[str, str]) -> str:
    rule = detail["msg"].removeprefix("Value error, ")
    if rule[:2].istitle():  # pydantic's sentence ("String should …"), not a variable's name
        rule = rule[0].lower() + rule[1:]
    if not detail["loc"]:  # a rule over several settings: its message names them
        return rule
    variable = setting_variable(str(detail["loc"][0]), env)
    return rule if rule.startswith(variable) else f"{variable}: {rule}"


def setting_variable(field: str, env: Mapping[str, str]) -> str:
    """The environment variable a Settings field is read from (the field's name if unknown)."""
    if field == "db_pool_size" and not env.get(OPTIONAL_VARIABLES[field], "").strip():
        # Unset, the pool size follows THREADS (Settings.from_env).
        return "THREADS"
    return {**NAMED_VARIABLES, **OPTIONAL_VARIABLES}.get(field, field)


def settings_with_database() -> Settings:
    """The settings, with DATABASE_URL pointed at the embedded database when the Postgres store
    is selected and no DATABASE_URL is set: every command works on a fresh clone."""
    settings = Settings.from_env()
    if settings.store == "postgres" and not settings.database_url:
        os.environ["DATABASE_URL"] = devdb.start().get_uri()
        log.info("embedded PostgreSQL with data in %s", devdb.data_dir())
        settings = Settings.from_env()
    return settings


def prepare_database() -> Settings:
    """A migrated database (embedded by default) with the catalog synced."""
    settings = settings_with_database()
    if settings.database_url:
        applied = migrate(settings.database_url)
        log.info("migrations applied: %s", ", ".join(applied) or "none (up to date)")
    _sync_catalog(settings)
    return settings


def _sync_catalog(settings: Settings) -> None:
    catalog = load_catalog(os.environ.get("BADGES_CATALOG"))
    store = make_store(settings)
    try:
        result = BadgesDb(store).sync_catalog(catalog.sync_payload())
    finally:
        store.close()
    log.info("catalog synced: %s", json.dumps(result, sort_keys=True))


def _serve(args: argparse.Namespace) -> int:
    host = args.host or os.environ.get("BADGES_HOST", "").strip() or SERVE_HOST
    port = serve_port() if args.port is None else args.port
    workers, threads = serve_concurrency()
    Settings.from_env()  # a bad setting is named before anything starts or changes
    # Before the database starts: gunicorn would find out only after it, then retry for seconds.
    busy = port_problem(host, port)
    if busy:
        print(f"badges: {busy}", file=sys.stderr)
        return 1
    if not os.environ.get("SUPABASE_JWT_SECRET"):
        os.environ["SUPABASE_JWT_SECRET"] = DEV_JWT_SECRET
    # functions-framework reads WORKERS and THREADS when it starts gunicorn; the user's values
    # stand, and the database pool of each worker follows THREADS (settings.py).
    os.environ["WORKERS"], os.environ["THREADS"] = str(workers), str(threads)
    prepare_database()
    run_server(host, port, workers, threads)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from badges import demo  # the demo's page and seeds are no part of the other commands

    Settings.from_env()  # a bad setting is named before anything starts or changes
    return demo.run(args.host, serve_port() if args.port is None else args.port, prepare_database)


def _migrate(args: argparse.Namespace) -> int:
    settings = settings_with_database()
    if not settings.database_url:
        print(
            "badges migrate needs DATABASE_URL; with only SUPABASE_URL, use `supabase db push`.",
            file=sys.stderr,
        )
        return 2
    applied = migrate(settings.database_url)
    print("applied:", ", ".join(applied) or "nothing (up to date)")
    return 0


def _sync(args: argparse.Namespace) -> int:
    _sync_catalog(settings_with_database())
    return 0


def _check_streaks(args: argparse.Namespace) -> int:
    return _print_batch(lambda db: db.check_streaks_all())


def _check_badges(args: argparse.Namespace) -> int:
    return _print_batch(daily_check)


def _backfill(args: argparse.Namespace) -> int:
    return _print_batch(
        lambda db: db.check_badges_all(args.badge, notify=args.notify, revoke=False)
    )


def _deliver(args: argparse.Namespace) -> int:
    settings = settings_with_database()
    return _print_batch(
        lambda db: make_deliverer(db, settings).deliver_due(args.max_seconds).as_json(), settings
    )


def _consistency(args: argparse.Namespace) -> int:
    return _print_batch(lambda db: db.consistency_report(), failed=lambda r: r["violations"] > 0)


def _print_batch(
    job: Callable[[BadgesDb], JsonObject],
    settings: Settings | None = None,
    failed: Callable[[JsonObject], bool] = lambda answer: False,
) -> int:
    """Run one batch job on the configured database and print its JSON answer; exit 1 when the
    job fails, or when `failed` says its answer is one."""
    store = make_store(settings or settings_with_database())
    try:
        answer = job(BadgesDb(store))
    except BadgesError as exc:
        print(f"badges: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps(answer, sort_keys=True))
    return 1 if failed(answer) else 0


def _token(args: argparse.Namespace) -> int:
    """The token alone on stdout (what `$(badges token)` captures); what it is, on stderr."""
    secret = os.environ.get("SUPABASE_JWT_SECRET") or DEV_JWT_SECRET
    if args.service:
        token, what = devtokens.service_token(secret), "service_role token"
    else:
        user = args.user or uuid4()
        issuer = Settings.from_env().jwt_issuers[0]  # the issuer `badges serve` will accept
        token = devtokens.user_token(user, secret, issuer=issuer, expires_in=args.expires_in)
        what = f"user token for {user}"
    print(token)
    print(f"badges: {what}, {expiry(token)}", file=sys.stderr)
    return 0


def expiry(token: str) -> str:
    """When a token expires, e.g. "expires 2030-01-01 13:00:00 UTC (1 hour after it was
    issued)", read from its claims."""
    claims = jwt.decode(token, options={"verify_signature": False})
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    lifetime = _duration(int(claims["exp"]) - int(claims["iat"]))
    return f"expires {expires:%Y-%m-%d %H:%M:%S} UTC, {lifetime} after it was issued"


def _duration(seconds: int) -> str:
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


if __name__ == "__main__":
    sys.exit(main())
