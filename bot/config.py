"""Configuration, read once from the environment (or a `.env` file), typed.

Names follow DESIGN.md so an operator can move between deployments without a
translation table. Secrets are `SecretStr`, so printing the settings never leaks them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ProviderName = Literal["builtin", "incidentio", "pagerduty", "firehydrant"]


def severity_key(name: str | None) -> str:
    """One spelling for a severity across providers and people: "SEV-1", "sev 1" → "sev1"."""
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


def reminder_spans(text: str) -> dict[str, timedelta]:
    """`SEV1=30m,SEV2=1h` → {"sev1": 30 min, "sev2": 1 h}; "off" or "" → none."""
    if text.strip().lower() in ("", "off", "none", "0"):
        return {}
    spans: dict[str, timedelta] = {}
    for part in _csv(text):
        name, _, span = part.partition("=")
        match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", span.lower())
        if not name.strip() or match is None or int(match[1]) <= 0:
            raise ValueError(f"{part!r} is not severity=span, like SEV1=30m")
        unit = {"s": 1, "m": 60, "": 60, "h": 3600, "d": 86400}[match[2]]
        spans[severity_key(name)] = timedelta(seconds=int(match[1]) * unit)
    return spans


def archive_span(text: str) -> timedelta | None:
    """`7d`, `36h`, `90m` → the span; "off" or "" → None (never archived)."""
    if text.strip().lower() in ("", "off", "none", "never", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text.lower())
    if match is None or int(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a length of time: say 7d, 36h or off")
    unit = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match[2]]
    return timedelta(seconds=int(match[1]) * unit)


class ConfigError(Exception):
    """A configuration mistake, said in one line that names the variable: exit 2."""


def database_url(value: str) -> str:
    """URLs as hosts hand them out (`postgres://…` on Heroku, `postgresql://…` elsewhere)
    → the driver the bot ships with (asyncpg); `sslmode=` → asyncpg's `ssl=`."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep:
        raise ValueError("is not a URL: say sqlite:///path/to/file.db or postgresql://user@host/db")
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgres", "postgresql"):
        return "postgresql+asyncpg://" + rest.replace("sslmode=", "ssl=")
    if base == "sqlite":
        return "sqlite:///" + rest.removeprefix("/") if rest.startswith("/") else value
    raise ValueError(f"{scheme}:// is not a database the bot can use: sqlite:/// or postgresql://")


def store_name(url: str) -> str:
    """The store, named without its password (for the ready line and errors)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database or ':memory:'}"
    return f"PostgreSQL database {parsed.database} at {parsed.host or 'localhost'}:{parsed.port or 5432}"


def load_settings(kind: type[Settings] | None = None, **values: Any) -> Settings:
    """The settings, or one line naming what is wrong (no traceback). `kind`: ShellSettings
    for the shell; `values`: any field's (Settings checks each, below), or `_env_file`."""
    try:
        return (kind or Settings)(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = Settings.model_fields.get(name)
        secret = field is not None and field.annotation is not None and "SecretStr" in str(field.annotation)
        message = str(error["msg"]).removeprefix("Value error, ")
        if name == "incident_provider":
            message = "should be one of builtin, incident.io, pagerduty, firehydrant"
        hidden = secret or name == "database_url"  # a URL may carry its password
        shown = "" if hidden or "input" not in error else f"={error['input']}"
        raise ConfigError(f"{name.upper()}{shown}: {message}") from None


def public_url(url: str) -> str:
    """`--url`, refused unless Slack (and the providers) would send to it: a host written
    without `https://` would otherwise become a manifest whose every URL Slack rejects."""
    scheme, sep, rest = url.strip().partition("://")
    host = rest.split("/", 1)[0]
    for path in ("/slack/events", "/webhooks/"):  # the bot adds these: given, they'd be doubled
        if path in rest:
            base = url.strip()[: url.strip().index(path)]
            raise ConfigError(
                f"--url {url}: give the bot's base URL, without {path.rstrip('/')}: say --url {base}"
            )
    if sep and scheme.lower() == "https" and host:
        return url.strip()
    example = "https://" + ((rest if sep else url.strip()).lstrip("/") or "<your host>")
    raise ConfigError(f"--url {url}: Slack sends requests only to https:// URLs: say --url {example}")


# Slack's ids, as its API gives them (upper case), and where a person finds one in Slack.
_SLACK_ID = {
    "user": (r"[UW][A-Z0-9]{2,}", "U0123ABCD", "a person's profile → ⋮ → Copy member ID"),
    "user group": (r"S[A-Z0-9]{2,}", "S0123ABCD", "the group's page → ⋮ → Copy group ID"),
    "channel": (r"[CG][A-Z0-9]{2,}", "C0123ABCD", "the channel's details → About, at the bottom"),
}


def _is_slack_id(kind: str, value: str) -> bool:
    return re.fullmatch(_SLACK_ID[kind][0], value.strip()) is not None


def _slack_id(kind: str, value: str) -> str:
    """One Slack id, or what to put instead: a name (`#incidents`, `@oncall`) is what people
    write, and would match nothing at all, silently, later."""
    if _is_slack_id(kind, value):
        return value.strip()
    _, example, where = _SLACK_ID[kind]
    raise ValueError(f"needs a Slack {kind} id, like {example}, not a name: {where}")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return _csv(value)
    return value


class Settings(BaseSettings):
    # An empty value (`SLACK_SIGNING_SECRET=`, as in .env.example) is as if unset: set to
    # nothing, a secret cannot verify anything and an app token cannot open a socket.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    incident_provider: ProviderName = "builtin"
    incident_command: str = "/incident"
    # Roles the built-in provider offers; the first is the one `/incident lead` assigns.
    incident_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["lead", "comms", "scribe"]
    )
    # Slack user ids allowed to run admin-only verbs (unlink). Empty: everyone may,
    # because locking responders out in the middle of an outage is worse than the risk.
    incident_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A Slack user group (its id, S…) whose members are admins too.
    incident_admin_group: str | None = None
    # A TOML file that changes who may run a verb (`resolve = "lead"`): see docs/permissions.md.
    incident_policy: str | None = None
    # Declares one person may make a minute (0: no limit).
    incident_declare_limit: int = 5
    # How long one command may take after the ack before the user is told it timed out.
    incident_command_timeout: float = 25.0
    # Commands doing their work at once in one process; one waiting for its incident's turn
    # holds none. Waiting on a slow provider counts as work, so the default is wide.
    incident_work_slots: int = Field(default=256, ge=1, le=4096)
    incident_channel_prefix: str = "inc"

    incidentio_api_key: SecretStr | None = None
    incidentio_api_url: str = "https://api.incident.io"
    pagerduty_api_token: SecretStr | None = None
    pagerduty_from_email: str | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    firehydrant_api_key: SecretStr | None = None
    firehydrant_api_url: str = "https://api.firehydrant.io"
    # PagerDuty: where `declare` opens incidents (a service id).
    pagerduty_service_id: str | None = None
    # Webhook signing secrets: each receiver (/webhooks/<provider>) is on only when its is set.
    incidentio_webhook_secret: SecretStr | None = None  # whsec_…
    pagerduty_webhook_secret: SecretStr | None = None
    firehydrant_webhook_secret: SecretStr | None = None
    # The bot's own notices (docs/notifications.md). Update reminders: severity=span pairs,
    # a reminder when no update was posted for that long; "off" for none.
    incident_update_reminders: str = "SEV1=30m,SEV2=60m,critical=30m,major=60m,P1=30m,P2=60m"
    # The reaction that puts a message in the incident's timeline (its name, no colons), and
    # the seconds after which removing it no longer takes the message out again.
    incident_pin_emoji: str = Field(default="pushpin", pattern=r"^[a-z0-9_+'-]{1,100}$")
    incident_unpin_seconds: int = Field(default=600, ge=0, le=86400)
    # A channel (its id, C…) that gets one line per incident, kept up to date as it resolves.
    incident_announce_channel: str | None = None
    # How long after resolution the incident's channel is archived (`7d`, `12h`), with a
    # word in it the day before; "off" (the default): never archived by the bot.
    incident_archive_after: str = "off"
    # Seconds a built-in page (a DM) waits for its Acknowledge before the person is paged
    # again, and as long again before the next person of the rotation is.
    incident_page_timeout: float = Field(default=300.0, ge=10, le=3600)
    # Seconds an incident read from a provider is reused before it is read again (0: never
    # reused). The bot's own changes and the provider's webhooks keep it current; this bounds
    # how long a change made in the provider's UI without a webhook can go unseen. A minute
    # where the provider's webhook is on. See bot/commands/fresh.py.
    incident_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    # Seconds between looks for reminders, nudges and handovers that are due.
    incident_timer_tick: float = 30.0
    # Seconds between two redraws of one incident's card, at the least: the changes within
    # them leave only their newest state, drawn once (chat.update is Tier 3, about 50 a minute).
    # 0: each change is redrawn as it comes, and only changes made during a redraw coalesce.
    incident_card_redraw_seconds: float = Field(default=1.0, ge=0, le=60)
    # Seconds one provider request may take before it is retried (reads) or reported.
    provider_timeout: float = 8.0

    database_url: str = "sqlite:///incident-bot.db"
    # PostgreSQL: connections one process keeps open for its transactions, at most (one per
    # work slot otherwise); every process shares the server's max_connections.
    database_pool_max: int = Field(default=20, ge=1, le=1000)
    # Seconds a process's claim on an unanswered request lasts unless renewed: after a crash,
    # another process (or the next start, on PostgreSQL) answers it this long after at most.
    inbox_lease: float = 15.0
    # Seconds the ack may wait on the database (connecting included) before it answers "the
    # bot's database isn't answering; nothing was done": well inside Slack's 3 s, so the person
    # hears that rather than Slack's own "failed", and the command is never run later.
    incident_ack_db_timeout: float = Field(default=1.5, gt=0, le=2.5)
    port: int = 3000
    log_format: Literal["text", "json"] = "text"
    # Upgrade the database's schema on start. Unset: yes for SQLite (one process), no for
    # PostgreSQL, where `incident-bot migrate` runs once, before new processes start.
    auto_migrate: bool | None = None

    @field_validator("incident_roles", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("incident_admins", mode="before")
    @classmethod
    def _admins(cls, value: object) -> object:
        """Refused whole here (so the line repeats what was written), never half-used: an
        admin named `bea` matches nobody, and the verbs for admins would lock everyone out."""
        ids = _split_csv(value)
        if isinstance(ids, list):
            wrong = [str(v) for v in ids if not _is_slack_id("user", str(v))]
            if wrong:
                _, example, where = _SLACK_ID["user"]
                raise ValueError(
                    f"needs Slack user ids, like {example}, not names ({', '.join(wrong)}): {where}"
                )
            return [str(v).strip() for v in ids]
        return ids

    @field_validator("incident_admin_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        return value and _slack_id("user group", value)

    @field_validator("incident_announce_channel")
    @classmethod
    def _announce(cls, value: str | None) -> str | None:
        return value and _slack_id("channel", value)

    @field_validator("pagerduty_from_email")
    @classmethod
    def _from_email(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value.strip()):
            raise ValueError("needs an email address: that of the PagerDuty user the bot makes changes as")
        return value and value.strip()

    @field_validator("incident_roles")
    @classmethod
    def _roles_lower(cls, value: list[str]) -> list[str]:
        roles = [role.lower() for role in value]
        if not roles:
            raise ValueError("INCIDENT_ROLES needs at least one role")
        return roles

    @field_validator("incident_command")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.startswith("/") else "/" + value

    @field_validator("incident_channel_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """Checked here: Slack refuses a channel name with `#`, capitals or spaces, and the
        first declare would be the first to hear of it, mid-incident."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,20}", value):
            raise ValueError("Slack channel names are lower-case letters, digits, - and _ (like inc)")
        return value

    @field_validator("slack_api_url", "incidentio_api_url", "pagerduty_api_url", "firehydrant_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        scheme, sep, rest = value.strip().partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest.split("/", 1)[0]:
            raise ValueError(f"needs a URL with its scheme, like https://{(rest or value).strip('/')}")
        return value.strip()

    @field_validator("pagerduty_service_id")
    @classmethod
    def _service_id(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[A-Z0-9]{5,}", value.strip()):
            raise ValueError(
                "needs a PagerDuty service id, like PABC123 (the end of the service's URL), not its name"
            )
        return value and value.strip()

    @field_validator("incident_provider", mode="before")
    @classmethod
    def _provider(cls, value: object) -> object:
        """`incident.io`, `IncidentIO`, `fire-hydrant`, `built-in`: as people write them."""
        if isinstance(value, str):
            return "".join(ch for ch in value.lower() if ch.isalnum())
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return database_url(value)

    @field_validator("incident_update_reminders")
    @classmethod
    def _reminders(cls, value: str) -> str:
        reminder_spans(value)  # refused here, at start, rather than at the first reminder
        return value

    def reminders(self) -> dict[str, timedelta]:
        """Severity (as `severity_key` spells it) → quiet span before a reminder."""
        return reminder_spans(self.incident_update_reminders)

    @field_validator("incident_archive_after")
    @classmethod
    def _archive_after(cls, value: str) -> str:
        archive_span(value)  # refused here, at start, rather than a week after a resolution
        return value

    def archive_after(self) -> timedelta | None:
        """How long after resolution a channel is archived; None: never."""
        return archive_span(self.incident_archive_after)

    @property
    def migrates_on_start(self) -> bool:
        return self.auto_migrate if self.auto_migrate is not None else self.database_url.startswith("sqlite")

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def secrets(self) -> list[str]:
        """Every secret value set: masked wherever the bot writes (bot/redact.py)."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]

    def webhook_secrets(self) -> dict[str, str]:
        """Provider → signing secret, for the receivers that are on."""
        # `<provider>_webhook_secret`, each provider's spec names its own (bot/providers/spec.py):
        # read by that convention, so this module names no provider.
        return {
            field.removesuffix("_webhook_secret"): value.get_secret_value()
            for field, value in self
            if field.endswith("_webhook_secret") and isinstance(value, SecretStr) and value.get_secret_value()
        }

    @property
    def everyone_is_admin(self) -> bool:
        """No admins configured at all: nobody is locked out (see docs/permissions.md)."""
        return not self.incident_admins and not self.incident_admin_group


class ShellSettings(Settings):
    """The shell's: no `.env` unless asked for (`shell --env-file`), since the shell promises
    no accounts and a `.env` in the folder is serve's; and a database of its own, so trying
    commands never writes into serve's incidents."""

    model_config = SettingsConfigDict(env_file=None)

    database_url: str = "sqlite:///incident-shell.db"
