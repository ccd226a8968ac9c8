//! The database schema, as an append-only list of migration steps.
//!
//! Step `i` (0-based) takes the database from `PRAGMA user_version = i` to
//! `i + 1`. Steps are never edited once released, only appended: a database
//! in the field is at some version and must reach the newest by replaying
//! exactly the steps it has not seen.
//!
//! Times are TEXT in fixed-width RFC 3339 (see [`super::codec`]) so that
//! `until <= ?now` compares correctly and an admin can read the file with the
//! `sqlite3` shell. `u64` values (inodes, hashes, offsets) are stored
//! bit-cast to SQLite's signed 64-bit integers.

/// `PRAGMA application_id` of a loginwatch state database ("LWst"): tells our
/// file from another program's SQLite database at the same path.
pub const APPLICATION_ID: i32 = 0x4c57_7374;

/// The migration steps, oldest first.
pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    -- One row per decision; the id is the deterministic decision id, so a
    -- decision re-derived after a crash hits the primary key and is ignored.
    CREATE TABLE decisions (
        id            TEXT PRIMARY KEY,
        rule          TEXT NOT NULL,
        action        TEXT NOT NULL,
        -- 1 for actions that last (lock, block, disable): counted as locks.
        is_lock       INTEGER NOT NULL,
        target_user   TEXT,
        target_ip     TEXT,
        target_net    TEXT,
        at            TEXT NOT NULL,
        until         TEXT,
        unlock        TEXT NOT NULL,
        severity      TEXT NOT NULL,
        mode          TEXT NOT NULL,
        exempt        INTEGER NOT NULL,
        evidence      TEXT NOT NULL,
        status        TEXT NOT NULL,
        ended_at      TEXT,
        unlocked_by   TEXT,
        unlock_reason TEXT,
        recorded_at   TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX decisions_active ON decisions (status, until);
    CREATE INDEX decisions_user ON decisions (target_user, at);
    CREATE INDEX decisions_ip ON decisions (target_ip, at);
    CREATE INDEX decisions_at ON decisions (at);

    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        decision_id TEXT NOT NULL REFERENCES decisions (id),
        what        TEXT NOT NULL,
        who         TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    CREATE INDEX audit_decision ON audit (decision_id, seq);

    -- One row per account; small on purpose.
    CREATE TABLE facts (
        user                 TEXT PRIMARY KEY,
        first_success        TEXT,
        last_success         TEXT,
        last_failure         TEXT,
        last_source_ip       TEXT,
        consecutive_failures INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- The resume point: replaced as a whole by every commit.
    CREATE TABLE checkpoints (
        seq       INTEGER PRIMARY KEY,
        source    TEXT NOT NULL,
        path      BLOB NOT NULL,
        dev       INTEGER NOT NULL,
        inode     INTEGER NOT NULL,
        head_hash INTEGER NOT NULL,
        head_len  INTEGER NOT NULL,
        offset    INTEGER NOT NULL
    );
    CREATE TABLE engine_snapshot (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        data BLOB NOT NULL
    );
    CREATE TABLE parser_snapshots (
        file_key TEXT PRIMARY KEY,
        data     BLOB NOT NULL
    );
    "#,
    // 2: the alert outbox (see `crate::alert::outbox`).
    r#"
    -- One row per sink per alert version, committed before any delivery
    -- attempt. `state`: pending, delivered, superseded (a newer version of the
    -- same key for the same sink replaced it before delivery) or suppressed
    -- (held by the sink's rate limit and counted in a summary instead) or
    -- failed (the receiver refused it for good, e.g. HTTP 400). `summary` is 1
    -- for those "K more alerts suppressed" rows.
    CREATE TABLE alert_outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        sink        TEXT NOT NULL,
        alert_key   TEXT NOT NULL,
        status      TEXT NOT NULL,
        version     INTEGER NOT NULL,
        payload     TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        state       TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        done_at     TEXT,
        summary     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alert_outbox_pending ON alert_outbox (state, sink, id);
    CREATE INDEX alert_outbox_key ON alert_outbox (sink, alert_key, version);

    -- Per-sink delivery state: the backoff after failures and the rate-limit
    -- window, so that neither is forgotten by a restart.
    CREATE TABLE alert_sink_state (
        sink          TEXT PRIMARY KEY,
        failures      INTEGER NOT NULL,
        retry_at      TEXT,
        window_start  TEXT,
        window_sent   INTEGER NOT NULL,
        suppressed    INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: user error or attack on every decision, and what each account's
    // history taught (see `crate::account`).
    r#"
    -- Decisions stored before this step were never assessed: 'unclear'.
    ALTER TABLE decisions ADD COLUMN assessment TEXT NOT NULL DEFAULT 'unclear';
    ALTER TABLE decisions ADD COLUMN assessment_reason TEXT NOT NULL DEFAULT '';

    -- One row per account the stream taught something about: where it logs in
    -- from, the spellings of its ID that were linked to it, its last attempts.
    -- `data` is the versioned binary form of `crate::account::History`,
    -- written in the same transaction as the checkpoints it belongs to. A
    -- rowid table: rows of a kilobyte or two are what WITHOUT ROWID handles badly.
    CREATE TABLE account_history (
        user  TEXT PRIMARY KEY,
        data  BLOB NOT NULL
    );
    "#,
    // 4: the database's identity and its own trail (see `super::guard`).
    r#"
    -- A random id, written once when the database is created (or first
    -- migrated). The daemon keeps a copy in a marker file beside it, which is
    -- how a lost or replaced database is told from a first start.
    INSERT OR IGNORE INTO meta (key, value) VALUES ('db_id', lower(hex(randomblob(16))));

    -- What happened to the state itself (created, reset with where the old
    -- file went): the decisions' audit trail is per decision, this is not.
    CREATE TABLE state_log (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        at     TEXT NOT NULL,
        what   TEXT NOT NULL,
        who    TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    "#,
    // 5: which credential made each change an admin made. `who` stays the
    // name the caller gave (a note anyone can type); NULL here is loginwatch's
    // own act or a line from before this step.
    r#"
    ALTER TABLE audit ADD COLUMN credential TEXT;
    "#,
    // 6: the resume point of sources that are not files, and the rows of
    // exports and pulled logs already delivered (see `crate::source::rows`).
    r#"
    -- Replaced as a whole by every commit, like `checkpoints`: the journal's
    -- cursor, a pulled API's time and page (the kind's own text).
    CREATE TABLE cursors (
        source TEXT PRIMARY KEY,
        cursor TEXT NOT NULL
    ) WITHOUT ROWID;

    -- One row per delivered row of a deduplicated source, until `expires`
    -- (first seen plus the service's retention); added by the commit of the
    -- rule state the row produced, deleted by a later commit once expired.
    CREATE TABLE seen_rows (
        source  TEXT NOT NULL,
        id      BLOB NOT NULL,
        expires TEXT NOT NULL,
        PRIMARY KEY (source, id)
    ) WITHOUT ROWID;
    CREATE INDEX seen_rows_expires ON seen_rows (expires);
    "#,
];

/// The schema version this binary writes and reads.
pub fn current_version() -> u32 {
    // The list is a handful of entries: the cast cannot truncate.
    MIGRATIONS.len() as u32
}
