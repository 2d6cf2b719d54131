"""The tables. Times that are compared (expiry, presence) are epoch seconds; times that are shown are timestamptz."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Bytea,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Conversation(Table):
    """One visitor's chat. `last_seq` numbers its events (messages and clears) gap-free, in commit order."""

    id: Serial

    visitor_token_hash = Varchar(length=64, unique=True, index=True)
    # A second accepted token: the one a mail's resume link gives (app/services/visitor_tokens.py); None until used.
    resume_token_hash = Varchar(length=64, null=True, default=None, index=True)
    display_name = Varchar(length=50)
    language = Varchar(length=5, default="en")
    created_at = Timestamptz()
    last_activity_at = Timestamptz(index=True)
    last_seq = Integer(default=0)
    cleared_seq = Integer(default=0)
    unread_count = Integer(default=0)  # visitor messages since everyone's last read (see ReadMark)
    visitor_count = Integer(default=0)  # visitor messages ever (from the upgrade on): what read marks compare with
    last_preview = Text(default="")  # Fernet token of the last message's preview
    last_sender = Varchar(length=10, default="")
    ended_at = Timestamptz(null=True, default=None)
    # Where an embedded (or embed-linked) conversation started: the host page and its referrer, validated
    # http(s) URLs (the page's origin is one of EMBED_ORIGINS), shown to the admin as text, never as HTML.
    source_url = Varchar(length=1000, null=True, default=None)
    source_referrer = Varchar(length=1000, null=True, default=None)
    # SPEC §8: open | snoozed | resolved. A snooze is over once `snoozed_until` (epoch seconds) has passed: read as
    # open from then on (app/services/status.py), whether or not the row was rewritten yet.
    status = Varchar(length=10, default="open", index=True)
    snoozed_until = DoublePrecision(null=True, default=None)
    assignee = Varchar(length=40, null=True, default=None, index=True)  # an agent's username; None: unassigned
    email = Text(null=True, default=None)  # the visitor's address for replies by email (SPEC §9): a Fernet token
    emailed_seq = Integer(default=0)  # events up to here the visitor saw live or got by email (app/services/replies.py)
    email_stopped = Boolean(default=False)  # the visitor unsubscribed from this conversation's emails
    away_notice_at = DoublePrecision(null=True, default=None)  # the away message last posted (app/services/away.py)
    agent_seen_seq = Integer(default=0)  # read receipts: how far an agent has seen it (app/services/receipts.py)
    visitor_seen_seq = Integer(default=0)  # how far the visitor has seen it


class Message(Table):
    """A message; `body` is a Fernet token. (conversation, seq) is unique, and so is (conversation, client_msg_id):
    the sender's own id for the post, which makes a retried post a no-op (see the migrations)."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    seq = Integer()
    sender = Varchar(length=10)
    body = Text()
    created_at = Timestamptz()
    client_msg_id = Varchar(length=64, null=True, default=None)
    author = Varchar(length=40, null=True, default=None)  # the agent's username (admin messages); else None


class Agent(Table):
    """A member of the support team. `password_hash` is a scrypt hash, "" while an invite is pending, or "env" for
    the first owner made from ADMIN_USERNAME, whose password stays ADMIN_PASSWORD(_HASH) until changed in the app.
    An invite is stored as the hash of its token, with its expiry (epoch seconds). `totp_secret`: the authenticator
    secret as a Fernet token ("" when none; pending until `totp_enabled`); `totp_last_step`: the last accepted
    30 s time step, so that each code is accepted once. `telegram_user_id` / `telegram_chat_id`: the agent's own
    Telegram account and private chat with the bot (None until linked); `telegram_link_hash`: the hash of a pending
    one-time `/start` token, valid until `telegram_link_expires_at`."""

    id: Serial

    username = Varchar(length=40, unique=True, index=True)
    display_name = Varchar(length=50)
    role = Varchar(length=10, default="agent")  # owner | agent
    password_hash = Varchar(length=200, default="")
    disabled = Boolean(default=False)
    invite_hash = Varchar(length=64, null=True, default=None, index=True)
    invite_expires_at = DoublePrecision(null=True, default=None)
    created_at = DoublePrecision(default=0.0)
    totp_secret = Text(default="")
    totp_enabled = Boolean(default=False)
    totp_last_step = BigInt(default=0)
    telegram_user_id = BigInt(null=True, default=None, index=True)
    telegram_chat_id = Varchar(length=40, null=True, default=None)
    telegram_link_hash = Varchar(length=64, null=True, default=None, index=True)
    telegram_link_expires_at = DoublePrecision(null=True, default=None)
    availability = Varchar(length=10, default="online")  # online | away (SPEC §8), set on the dashboard


class AdminSession(Table):
    """A logged-in admin browser. The cookie holds a random token; only its hash is stored."""

    id: Serial

    token_hash = Varchar(length=64, unique=True, index=True)
    username = Varchar(length=100)
    created_at = DoublePrecision()
    last_seen_at = DoublePrecision()


class LoginAttempt(Table):
    """Password accepted, code pending. Bound to the browser by a cookie token (hash stored)."""

    id: Serial

    token_hash = Varchar(length=64, unique=True, index=True)
    username = Varchar(length=100)
    ip = Varchar(length=64, index=True)
    code_hash = Varchar(length=128)
    created_at = DoublePrecision()
    expires_at = DoublePrecision()
    failures = Integer(default=0)
    used = Boolean(default=False)


class KeyValue(Table):
    """Backs Litestar's Store interface (rate limits) so every server process shares it."""

    key = Varchar(length=400, primary_key=True)
    value = Bytea()
    expires_at = DoublePrecision(null=True, default=None)


class Presence(Table):
    """Who has a stream open where: one row per (server process, subject); subject is `admin` or `c:<id>`."""

    id: Serial

    process_id = Varchar(length=40, index=True)
    subject = Varchar(length=40, index=True)
    expires_at = DoublePrecision()


class Attachment(Table):
    """An image or audio file sent with a message. `public_id` (random) is the only id that appears in URLs."""

    id: Serial

    public_id = Varchar(length=40, unique=True, index=True)
    # Both empty while an upload made through the JSON API waits for the message that will carry it.
    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, null=True, index=True)
    message = ForeignKey(references=Message, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=10)  # image | audio
    content_type = Varchar(length=40)
    size = Integer()
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    backend = Varchar(length=12)  # local | cloudinary
    storage_key = Varchar(length=300)
    file_name = Varchar(length=120)
    created_at = Timestamptz()


class FileDeletion(Table):
    """Stored files whose rows are gone: deleted in the background, retried until they are, never forgotten."""

    id: Serial

    backend = Varchar(length=12)
    storage_key = Varchar(length=300)
    attempts = Integer(default=0)
    last_error = Varchar(length=200, default="")
    next_try_at = DoublePrecision(default=0.0)


class TelegramOutbox(Table):
    """A visitor message to deliver to the admin's Telegram chat, written in the transaction that stores it.

    Delivered strictly in id order; an undelivered row stays (with its error and next try) until it goes through.
    `kind`: `new` (the conversation's first delivery: announced as new) or `message`. A row Telegram refuses for
    good (not for a reason that would refuse every row) is set aside with `failed_at` so the rest can go."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    message = ForeignKey(references=Message, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=20)
    attempts = Integer(default=0)
    next_try_at = DoublePrecision(default=0.0)
    last_error = Varchar(length=200, default="")
    delivered = Boolean(default=False, index=True)
    telegram_message_id = BigInt(null=True, default=None)
    created_at = DoublePrecision(default=0.0)
    delivered_at = DoublePrecision(null=True, default=None)
    failed_at = DoublePrecision(null=True, default=None)


class MailOutbox(Table):
    """A mail to send (SPEC §9), written in the transaction that causes it (app/services/mail/outbox.py).

    `recipient` and `body` (the whole RFC 5322 message) are Fernet tokens: an address and what is written to it are
    personal data. Sent in id order; a row the server refuses for good (5xx) is set aside with `failed_at`.
    `kind` says what the mail is (`test`, later `replies`, `transcript`); `conversation` is None for mail about no
    conversation, and deleting a conversation deletes its unsent mail."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=20, default="")
    recipient = Text(default="")
    body = Text(default="")
    attempts = Integer(default=0)
    next_try_at = DoublePrecision(default=0.0)
    last_error = Varchar(length=200, default="")
    sent = Boolean(default=False, index=True)
    created_at = DoublePrecision(default=0.0)
    sent_at = DoublePrecision(null=True, default=None)
    failed_at = DoublePrecision(null=True, default=None)


class TelegramLink(Table):
    """Which conversation a message the bot sent belongs to (for routing the admin's replies)."""

    id: Serial

    chat_id = Varchar(length=64)
    telegram_message_id = BigInt(index=True)
    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    created_at = DoublePrecision(default=0.0)


class TelegramTopic(Table):
    """The forum topic of a conversation, when the admin chat is a forum supergroup."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, unique=True, index=True)
    chat_id = Varchar(length=64)
    thread_id = BigInt(index=True)
    created_at = DoublePrecision(default=0.0)


class TelegramUpdate(Table):
    """Every Telegram update handled, by `update_id`: one that arrives again (a retry, a crash before the offset
    moved) is recognised and skipped. Written in the transaction that stores what the update brought."""

    id: Serial

    update_id = BigInt(unique=True, index=True)
    outcome = Varchar(length=20, default="")
    processed_at = DoublePrecision(default=0.0)


class Counter(Table):
    """Counts every server process shares, each changed by one atomic statement (app/services/counters.py):
    rate-limit windows and consecutive failed password checks per account and per IP. A row means nothing
    after `expires_at`; `blocked_until` is a lockout's end."""

    id: Serial

    key = Varchar(length=200, unique=True, index=True)
    # Shadows Piccolo's Table.count() query (never called on this table); the column keeps the name its migration
    # gave it.
    count = Integer(default=0)  # type: ignore[assignment]
    expires_at = DoublePrecision(default=0.0, index=True)
    blocked_until = DoublePrecision(default=0.0)


class Lease(Table):
    """A job only one server process may run at a time (Telegram polling): held until `expires_at`, renewed by
    its holder."""

    id: Serial

    name = Varchar(length=40, unique=True, index=True)
    holder = Varchar(length=40)
    expires_at = DoublePrecision(default=0.0)


class WorkspaceSetting(Table):
    """A workspace setting changed on /admin/settings (app/services/workspace.py): text in `value`, an uploaded
    file (the logo) in `data`. A key without a row takes its default from the environment."""

    id: Serial

    key = Varchar(length=40, unique=True, index=True)
    value = Text(default="")
    data = Bytea(null=True, default=None)
    updated_at = DoublePrecision(default=0.0)


class AuditEvent(Table):
    """One entry of the owner's audit log (SPEC §8, app/services/audit.py): who (`actor`: a username, "system" or
    "cli"), from where (`ip`), what (`action`, `target`) and a small JSON of safe `details`; never message text or
    secrets. Kept AUDIT_KEEP_SECONDS (180 days)."""

    id: Serial

    created_at = DoublePrecision(default=0.0, index=True)
    actor = Varchar(length=100, default="")
    ip = Varchar(length=64, default="")
    action = Varchar(length=40, default="", index=True)
    target = Varchar(length=100, default="")
    details = Text(default="{}")


class ReadMark(Table):
    """How far one agent has read a conversation: its `visitor_count` when they last read it. The agent's unread
    count is the smaller of the conversation's `unread_count` (since a read for everyone: a clear, a Telegram reply)
    and `visitor_count - seen` (app/services/read_marks.py). (agent, conversation) is unique (see the migration)."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    agent = Varchar(length=40, default="")  # the agent's username
    seen = Integer(default=0)


class CannedReply(Table):
    """A canned reply (SPEC §10, app/services/canned.py): support's own template, offered in the agent's composer
    by its `shortcut` (unique; `[a-z0-9_-]{1,30}`). Plain text: agents write it, not visitors. `{name}` in `text`
    becomes the visitor's display name when it is sent."""

    id: Serial

    shortcut = Varchar(length=30, unique=True, index=True)
    text = Text(default="")
    created_by = Varchar(length=40, default="")  # the agent's username
    updated_at = DoublePrecision(default=0.0)


class ConversationLabel(Table):
    """A label on a conversation (SPEC §10, app/services/labels.py): lower-case letters, digits, - and _, 1-30
    characters; (conversation, label) is unique (see the migration). Plain text: support's own words."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    label = Varchar(length=30, default="", index=True)


class Resolution(Table):
    """One resolution of a conversation (SPEC §10: reports, and a visitor rates each resolution once), written in the
    status change's own transaction (app/services/resolutions.py). `number`: 1 for the first, 2 after a reopen..."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    number = Integer(default=1)
    resolved_at = Timestamptz(index=True)
    resolved_by = Varchar(length=40, null=True, default=None)  # the agent's username; None: not known


class Rating(Table):
    """The visitor's rating of one resolution (SPEC §10 CSAT): a score 1-5 and an optional comment, a Fernet token
    like message text ("" for none). One per resolution: `resolution` is unique."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    resolution = ForeignKey(references=Resolution, on_delete=OnDelete.cascade, unique=True, index=True)
    score = Integer(default=0)
    comment = Text(default="")
    created_at = Timestamptz(index=True)


class VisitorBlock(Table):
    """Who may not chat (SPEC §11, app/services/blocks.py): `kind` visitor (`value`: the visitor token's hash), ip
    (an address) or cidr (a range). `expires_at` (epoch seconds) None: until unblocked. `conversation` is where a
    block from the dashboard came from (kept, not a foreign key, once the conversation is gone)."""

    id: Serial

    kind = Varchar(length=10, default="")
    value = Varchar(length=64, default="", index=True)
    conversation = Integer(null=True, default=None)
    reason = Varchar(length=200, default="")
    created_by = Varchar(length=40, default="")  # the agent's username
    created_at = DoublePrecision(default=0.0)
    expires_at = DoublePrecision(null=True, default=None)


class VisitorAddress(Table):
    """The address a conversation was started from (a Fernet token): what blocking the conversation blocks too."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, index=True)
    ip = Text(default="")


class SearchTerm(Table):
    """The blind search index (SPEC §10, app/services/search.py): a keyed hash (`term`, HMAC-SHA256 under a key
    derived from SECRET_KEY, 64 bits) of one normalised word of a message, or of the visitor's name or email when
    `message` is None. Never a word itself. Goes with its message and conversation (ON DELETE CASCADE)."""

    id: Serial

    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, null=False, index=True)
    message = ForeignKey(references=Message, on_delete=OnDelete.cascade, null=True, index=True)
    term = BigInt(default=0, index=True)
