"""The `badges` command: serve, migrate, sync-catalog, the batch jobs (check-streaks,
check-badges, backfill, deliver-notifications), consistency, token.

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
from collections.abc import Callable, Mapping
from pathlib import Path
from uuid import UUID

from badges import devdb, devtokens
from badges.catalog import load_catalog
from badges.delivery.worker import make_deliverer
from badges.errors import BadgesError
from badges.migrate import migrate
from badges.settings import DEV_JWT_SECRET, Settings, SettingsError
from badges.store import make_store
from badges.store.db import BadgesDb, JsonObject

log = logging.getLogger("badges")

MAIN = Path(__file__).resolve().parents[1] / "main.py"
# What `badges serve` runs when WORKERS / THREADS are unset (README, Workers and threads): one
# gunicorn worker, since the embedded PostgreSQL needs the other core of a 2-core machine (an
# award costs it about as much CPU as the worker), with 8 threads to keep 8 requests in flight.
SERVE_WORKERS = 1
SERVE_THREADS = 8


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl line at INFO
    args = _parser().parse_args(argv)
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="badges", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(required=True, metavar="command")

    serve = sub.add_parser("serve", help="prepare the database and serve the function")
    serve.add_argument("--host", default=os.environ.get("BADGES_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    serve.set_defaults(run=_serve)

    sub.add_parser("migrate", help="apply supabase/migrations to the database").set_defaults(
        run=_migrate
    )
    sub.add_parser("sync-catalog", help="write the catalog file into the database").set_defaults(
        run=_sync
    )
    sub.add_parser(
        "check-streaks", help="award streak badges to all users (the v1 daily job)"
    ).set_defaults(run=_check_streaks)
    sub.add_parser(
        "check-badges",
        help="award every automatic badge due and remove lapsed auto_revoke ones (the daily job)",
    ).set_defaults(run=_check_badges)
    backfill = sub.add_parser(
        "backfill", help="award a new or changed badge to every user who already qualifies"
    )
    backfill.add_argument("--badge", help="only this badge id (default: every automatic badge)")
    backfill.add_argument("--notify", action="store_true", help="write notifications too")
    backfill.set_defaults(run=_backfill)

    deliver = sub.add_parser(
        "deliver-notifications",
        help="send due notifications to the configured channels (webhook, Expo push)",
    )
    deliver.add_argument(
        "--max-seconds", type=float, default=50.0, help="stop starting batches after this long"
    )
    deliver.set_defaults(run=_deliver)

    sub.add_parser(
        "consistency", help="check the invariants between the tables (exit 1 on a violation)"
    ).set_defaults(run=_consistency)

    token = sub.add_parser("token", help="print a development JWT")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=UUID, help="a user token for this user id")
    who.add_argument("--service", action="store_true", help="a service_role token")
    token.add_argument("--expires-in", type=int, default=3600, help="seconds (user tokens)")
    token.set_defaults(run=_token)
    return parser


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
        result = BadgesDb(store).sync_catalog(*catalog.sync_payload())
    finally:
        store.close()
    log.info("catalog synced: %s", json.dumps(result, sort_keys=True))


def _serve(args: argparse.Namespace) -> int:
    import functions_framework
    from functions_framework._http import create_server

    if not os.environ.get("SUPABASE_JWT_SECRET"):
        os.environ["SUPABASE_JWT_SECRET"] = DEV_JWT_SECRET
    # functions-framework reads WORKERS and THREADS when it starts gunicorn; the user's values
    # stand, and the database pool of each worker follows THREADS (settings.py).
    workers, threads = serve_concurrency()
    os.environ["WORKERS"], os.environ["THREADS"] = str(workers), str(threads)
    prepare_database()
    app = functions_framework.create_app(target="badges", source=str(MAIN))
    log.info(
        "serving the badges function on http://%s:%s (%d worker%s x %d threads)",
        args.host,
        args.port,
        workers,
        "" if workers == 1 else "s",
        threads,
    )
    create_server(app, debug=False).run(args.host, args.port)
    return 0


def serve_concurrency(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(workers, threads) of `badges serve`: WORKERS and THREADS when set, else SERVE_WORKERS
    and SERVE_THREADS."""
    env = os.environ if env is None else env

    def count(name: str, default: int) -> int:
        value = env.get(name, "").strip()
        if not value:
            return default
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise SettingsError(f"invalid configuration: {name} must be a whole number >= 1")
        return int(value)

    return count("WORKERS", SERVE_WORKERS), count("THREADS", SERVE_THREADS)


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
    return _print_batch(lambda db: db.check_badges_all(None, notify=True, revoke=True))


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
    secret = os.environ.get("SUPABASE_JWT_SECRET") or DEV_JWT_SECRET
    if args.service:
        print(devtokens.service_token(secret))
    else:
        issuer = Settings.from_env().jwt_issuers[0]  # the issuer `badges serve` will accept
        print(devtokens.user_token(args.user, secret, issuer=issuer, expires_in=args.expires_in))
    return 0


if __name__ == "__main__":
    sys.exit(main())
