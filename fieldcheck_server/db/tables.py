"""The schema, once for SQLite and PostgreSQL (SQLAlchemy Core). Alembic migrations build it.

Times are integer milliseconds since the Unix epoch (UTC). Constraint names are spelled out as
PostgreSQL names them by default, so a database created before migrations existed compares equal.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: An autoincrementing id: an identity column on PostgreSQL, the rowid alias on SQLite.
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("label", Text, nullable=False),
    Column("registered_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    # Set when the unit's signed ``decommissioned`` record is stored; never cleared.
    Column("retired_at", BigInteger),
)

records = Table(
    "records",
    metadata,
    Column("device_id", Text, ForeignKey("devices.device_id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("cose", LargeBinary, nullable=False),
    Column("record_hash", LargeBinary, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("kind", Text, nullable=False),
    Column("device_time", BigInteger, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("device_id", Text),
    Column("seq", BigInteger),
    Column("code", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("raw_size", BigInteger, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    UniqueConstraint("code", "digest", name="quarantine_code_digest_key"),
    Index("quarantine_device", "device_id", "seq"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("device_id", Text),
    Column("code", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("quarantine_id", BigInteger),
)

nonces = Table(
    "nonces",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("nonces_expiry", "expires_at"),
)

#: Refusals of callers that never proved they hold a device key: one counting row per source and
#: code, never the body (issue 8: unauthenticated requests must not fill the database).
refusals = Table(
    "refusals",
    metadata,
    Column("source", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("claimed_device", Text),
    Column("last_digest", LargeBinary, nullable=False),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("alerted_at", BigInteger),
)

#: Who registered, revoked or reinstated a unit, when and why: the registry's audit trail.
device_events = Table(
    "device_events",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("device_id", Text, ForeignKey("devices.device_id"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index("device_events_device", "device_id", "id"),
)

#: Signed commands queued for a unit (fieldcheck_protocol.command), until its signed answer comes.
commands = Table(
    "commands",
    metadata,
    Column("id", Text, primary_key=True),
    Column("device_id", Text, ForeignKey("devices.device_id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("cose", LargeBinary, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("delivered_at", BigInteger),
    Column("answered_at", BigInteger),
    Column("outcome", Text),
    Column("reason", Text),
    Column("answer_seq", BigInteger),
    UniqueConstraint("device_id", "seq", name="commands_device_id_seq_key"),
)

#: Operator accounts (issue 11): argon2id password hashes, role, lock-out state, optional TOTP.
users = Table(
    "users",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("username", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", BigInteger),
    Column("totp_secret", Text),
    Column("totp_last_step", BigInteger),
    UniqueConstraint("username", name="users_username_key"),
)

#: Server-side sessions; the cookie holds a random token, the table only its sha256.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("sessions_user", "user_id"),
)

#: API tokens for integrations: shown once, stored as sha256, scoped to a role, revocable.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("token_hash", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("role", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger),
    Column("revoked_at", BigInteger),
    UniqueConstraint("token_hash", name="api_tokens_token_hash_key"),
)

#: Every human action, hash-chained: each entry holds the sha256 of the one before.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_id", BigInteger),
    Column("role", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("entry_hash", LargeBinary, nullable=False),
)

# --- casework (issue 11): people, assignments, zones, the review queue, webhooks -------------

#: A person under supervision: a case number, a name, languages and the officer whose caseload
#: they are on (the officer's username; None: on nobody's caseload yet).
persons = Table(
    "persons",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("case_number", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("languages", Text, nullable=False),
    Column("officer", Text),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("case_number", name="persons_case_number_key"),
)

#: Which device a person wore when: one open assignment per person and per device at a time.
assignments = Table(
    "assignments",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("device_id", Text, ForeignKey("devices.device_id"), nullable=False),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index("assignments_person", "person_id", "start_at"),
    Index("assignments_device", "device_id", "start_at"),
)

#: An inclusion or exclusion area of a person, as JSON geometry, with the local hours it holds.
zones = Table(
    "zones",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("geometry", Text, nullable=False),
    Column("hours", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
)

#: Something a reviewer must decide on, with its evidence; ``source`` makes each one once.
reviews = Table(
    "reviews",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("source", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("device_id", Text),
    Column("person_id", BigInteger),
    Column("seq", BigInteger),
    Column("at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("decision", Text),
    Column("reason", Text),
    Column("decided_by", Text),
    Column("decided_at", BigInteger),
    UniqueConstraint("source", name="reviews_source_key"),
    Index("reviews_open", "decided_at", "id"),
)

#: How far the review scan has read each input (``records:<device>``, ``alerts``).
review_cursors = Table(
    "review_cursors",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

#: Receivers of alerts: a URL and the shared secret the body's HMAC-SHA256 is made with.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID_TYPE, Identity(always=True), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger),
)

#: The outbox: one row per alert and receiver until delivered; ``event_id`` is stable across
#: retries so a receiver can deduplicate.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("webhook_id", BigInteger, ForeignKey("webhooks.id"), primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    Column("last_error", Text),
    Index("webhook_outbox_due", "delivered_at", "next_at"),
)

#: Sealed review frames a technician brought from a unit (still encrypted to the review desk's
#: key); opened only for a reviewer, every opening audited, deleted after ``expires_at``.
review_images = Table(
    "review_images",
    metadata,
    Column("device_id", Text, ForeignKey("devices.device_id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("frame", Integer, primary_key=True, autoincrement=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("captured_at", BigInteger, nullable=False),
    Column("imported_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
