"""`incident-bot` (or `python -m bot`): serve | shell | check | manifest | migrate | webhooks."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bot import logs
from bot.config import ConfigError, Settings, ShellSettings, load_settings, public_url


def main(argv: list[str] | None = None) -> int:
    """Every command; a configuration mistake is one line on stderr and exit 2, never a traceback."""
    try:
        return _main(argv)
    except ConfigError as exc:
        sys.stderr.write(f"configuration: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="incident-bot", description="Incident ChatOps bot for Slack.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve", help="serve the Slack app (HTTP on PORT, or Socket Mode)")
    shell = sub.add_parser("shell", help="a local console running the same commands, no Slack needed")
    shell.add_argument(
        "--env-file", metavar="PATH", help="read settings from this file (the shell reads no .env by itself)"
    )
    sub.add_parser("check", help="check configuration and reach Slack and each provider")
    manifest = sub.add_parser("manifest", help="print the Slack app manifest for a public URL")
    manifest.add_argument("--url", default="https://example.com", help="the app's public base URL")
    manifest.add_argument("--socket", action="store_true", help="a Socket Mode manifest (no URLs)")
    sub.add_parser("migrate", help="upgrade the database (DATABASE_URL) to this release's schema")
    hooks = sub.add_parser("webhooks", help="what to register at each provider for channel notifications")
    hooks.add_argument("--url", default="https://example.com", help="the app's public base URL")
    hooks.add_argument("--create", metavar="PROVIDER", help="create the subscription (pagerduty)")
    args = parser.parse_args(argv)

    logs.configure()
    if args.cmd == "manifest":
        from bot.manifest import manifest_yaml

        url = args.url if args.socket else public_url(args.url)
        sys.stdout.write(manifest_yaml(load_settings().incident_command, url, socket_mode=args.socket))
        return 0
    if args.cmd == "webhooks":
        public_url(args.url)
    if args.cmd == "shell" and args.env_file and not os.path.isfile(args.env_file):
        raise ConfigError(f"--env-file {args.env_file}: there is no such file")
    settings: Settings = (
        load_settings(ShellSettings, _env_file=args.env_file) if args.cmd == "shell" else load_settings()
    )
    logs.configure(settings.log_format)
    if args.cmd == "shell":
        logging.getLogger().setLevel(logging.WARNING)
        from bot.shell import main as shell_main

        return shell_main(settings)
    if args.cmd == "migrate":
        from bot.store.db import migrate_now as migrate_main

        sys.stdout.write(migrate_main(settings) + "\n")
        return 0
    if args.cmd == "webhooks":
        from bot.webhooks.setup import main as webhooks_main

        code, said = webhooks_main(settings, args.url, args.create)
        (sys.stdout if code == 0 else sys.stderr).write(said)
        return code
    if args.cmd == "check":
        from bot.check import main as check_main

        return check_main(settings)
    from bot.slack.server import main as serve_main

    return serve_main(settings)


if __name__ == "__main__":
    raise SystemExit(main())
