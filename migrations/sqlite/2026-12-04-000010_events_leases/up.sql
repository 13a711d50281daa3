-- The change outbox (written in the same transaction as each change), the webhook's
-- delivery cursor, and leases that let one replica at a time do a job.

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    connection TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX events_event_id ON events (event_id);

CREATE TABLE delivery_cursors (
    name TEXT PRIMARY KEY NOT NULL,
    last_event BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
