//! [`PgStore`]: the log in PostgreSQL, so that a standard backup or replica of the
//! database holds the whole log: entries, subtree hashes, the duplicate and subject
//! indexes, the supplier index's chain heads, checkpoints and metadata
//! (`docs/storage.md` has the tables).
//!
//! **Driver.** `tokio-postgres` (rust-postgres): the maintained pure-Rust client, with
//! binary parameters, pipelining and no C library. It is asynchronous and the [`Store`]
//! trait is not, so the store runs its connections on a small runtime of its own and
//! callers block on it, as they block on the disk with sled.
//!
//! **One writer.** A batch is one transaction, acknowledged after `COMMIT`. A writer
//! holds a session advisory lock for as long as its connection lives (a second writer
//! waits for it, or refuses), and on taking the lock raises the database's *writer
//! epoch*; every batch's transaction locks the state row and checks both the tree size
//! and that epoch. A writer that lost its lock without noticing (a network partition,
//! a paused process) therefore cannot commit once another has taken over: its batch is
//! refused whole, and the log never holds two trees of one size.
//!
//! **Readers** (`Role::Reader`) never write and never migrate: they serve from the
//! database, a hot standby included, and follow the writer's checkpoints.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::{check_subject, Batch, Store, StoreError};
use crate::index::ChainHead;
use crate::merkle::{Hash, Node};

/// What a [`PgStore`] may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Appends: migrates the schema, takes the writer lock (waiting for it when
    /// [`PgOptions::wait_for_writer`]) and raises the writer epoch.
    Writer,
    /// Reads only, from any copy of the database.
    Reader,
}

/// Options for [`PgStore::open`].
#[derive(Clone, Debug)]
pub struct PgOptions {
    pub role: Role,
    /// A writer waits for another writer's lock (`vouch serve`) instead of refusing.
    pub wait_for_writer: bool,
    /// Connections for reads: queries are pipelined on each.
    pub read_connections: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            role: Role::Writer,
            wait_for_writer: false,
            read_connections: 2,
        }
    }
}

/// The schema, one migration per entry, applied in order on a writer's start. A
/// database's version is the number of migrations applied.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE vouch_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    tree_size bigint NOT NULL,
    writer_epoch bigint NOT NULL
);
INSERT INTO vouch_state (id, tree_size, writer_epoch) VALUES (1, 0, 0);
CREATE TABLE vouch_entries (idx bigint PRIMARY KEY, bytes bytea NOT NULL);
CREATE TABLE vouch_hashes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE vouch_dedup (key bytea PRIMARY KEY, idx bigint NOT NULL);
CREATE TABLE vouch_subject_entries (
    subject bytea NOT NULL,
    idx bigint NOT NULL,
    leaf bytea NOT NULL,
    PRIMARY KEY (subject, idx)
);
CREATE TABLE vouch_subjects (
    subject bytea PRIMARY KEY,
    count bigint NOT NULL,
    newest_idx bigint NOT NULL,
    newest_leaf bytea NOT NULL
);
CREATE TABLE vouch_checkpoints (size bigint PRIMARY KEY, signed bytea NOT NULL);
CREATE TABLE vouch_meta (name text PRIMARY KEY, value bytea NOT NULL);
"];

/// Advisory lock keys (`pg_advisory_lock`'s one-bigint form): "vouch-wr", "vouch-mg".
const WRITER_LOCK: i64 = 0x766f_7563_682d_7772;
const MIGRATION_LOCK: i64 = 0x766f_7563_682d_6d67;

/// How often a waiting writer asks for the lock again.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// The log in a PostgreSQL database.
pub struct PgStore {
    /// `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    config: tokio_postgres::Config,
    /// Where to show the database in messages (no password).
    shown: String,
    readers: Vec<Mutex<Arc<Client>>>,
    next_reader: AtomicUsize,
    /// `None` for a reader.
    writer: Option<Mutex<Writer>>,
    /// Subtree hashes read before. A complete subtree's hash never changes, so any
    /// hash read is good for ever; proofs of a big tree share their upper levels.
    hash_cache: quick_cache::sync::Cache<(u8, u64), Hash>,
}

/// How many subtree hashes a [`PgStore`] keeps (about 100 bytes each).
const HASHES_CACHED: usize = 262_144;

struct Writer {
    /// `None` after the connection failed, until [`Store::recover`].
    client: Option<Client>,
    epoch: i64,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.shown)
            .field("writer", &self.writer.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // A runtime cannot be dropped where blocking is not allowed (an async task
        // may drop the last handle of a log); its tasks end with it either way.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn backend(what: &str, e: &tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {}", error_text(e)))
}

/// The server's own message where there is one (tokio-postgres's `Display` says only
/// "db error").
fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{n} is beyond PostgreSQL's bigint")))
}

fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("stored number {n} is negative")))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("stored hash is not 32 bytes".into()))
}

/// Runs `f` on `rt` and waits for it, from any thread (a task of another runtime
/// included: it blocks there as a disk read would).
fn run_on<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    f: impl Future<Output = T> + Send + 'static,
) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return rt.block_on(f);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .expect("the store's runtime runs its tasks to the end while the store exists")
}

/// Connects, and drives the connection on `rt` until it closes.
async fn connect(config: tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// Applies the migrations the database lacks, under a lock so that two writers
/// starting at once do not both apply one.
async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS vouch_schema (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await?;
        let have: i32 = client
            .query_one("SELECT coalesce(max(version), 0) FROM vouch_schema", &[])
            .await?
            .get(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
            let version = i as i32 + 1;
            let tx = client.transaction().await?;
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO vouch_schema (version) VALUES ($1)",
                &[&version],
            )
            .await?;
            tx.commit().await?;
            tracing::info!(version, "applied a schema migration");
        }
        Ok(())
    }
    .await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

/// The schema version a database holds (0: none).
async fn schema_version(client: &Client) -> Result<i32, tokio_postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('vouch_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT coalesce(max(version), 0) FROM vouch_schema", &[])
        .await?
        .get(0))
}

/// Takes the writer lock (or says who holds it) and raises the epoch.
async fn take_writer_lock(client: &Client, wait: bool, shown: &str) -> Result<i64, StoreError> {
    let mut said = false;
    loop {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK])
            .await
            .map_err(|e| backend("cannot ask for the writer lock", &e))?
            .get(0);
        if got {
            break;
        }
        if !wait {
            return Err(StoreError::Backend(format!(
                "another vouch process writes to {shown} (one writer at a time: stop it, or \
                 serve this one with --read-only)"
            )));
        }
        if !said {
            tracing::warn!(
                database = shown,
                "another vouch process writes to this database; waiting for it to stop"
            );
            said = true;
        }
        tokio::time::sleep(LOCK_POLL).await;
    }
    let epoch: i64 = client
        .query_one(
            "UPDATE vouch_state SET writer_epoch = writer_epoch + 1 WHERE id = 1 \
             RETURNING writer_epoch",
            &[],
        )
        .await
        .map_err(|e| backend("cannot raise the writer epoch", &e))?
        .get(0);
    Ok(epoch)
}

/// Where `config` points, for messages.
fn shown(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{host}:{port}/{}",
        config.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user@host:port/db`, or
    /// libpq's `key=value` form). A writer applies the schema migrations the database
    /// lacks and takes the writer lock; a reader checks the schema is the one it reads.
    ///
    /// # Errors
    /// When the URL does not parse, the database cannot be reached, or (a writer)
    /// another writer holds the lock and `wait_for_writer` is off.
    pub fn open(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Backend(format!(
                "{url:?} is not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE): {e}"
            ))
        })?;
        let shown = shown(&config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vouch-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start a runtime: {e}")))?;
        let role = options.role;
        let wait = options.wait_for_writer;
        let n = options.read_connections.max(1);
        let opened = run_on(&rt, {
            let config = config.clone();
            let shown = shown.clone();
            async move {
                let unreachable = |e: tokio_postgres::Error| {
                    StoreError::Backend(format!("cannot connect to {shown}: {}", error_text(&e)))
                };
                let writer = match role {
                    Role::Writer => {
                        let mut client = connect(config.clone()).await.map_err(unreachable)?;
                        migrate(&mut client)
                            .await
                            .map_err(|e| backend("cannot apply the schema migrations", &e))?;
                        let epoch = take_writer_lock(&client, wait, &shown).await?;
                        Some(Writer {
                            client: Some(client),
                            epoch,
                        })
                    }
                    Role::Reader => None,
                };
                let mut readers = Vec::with_capacity(n);
                for _ in 0..n {
                    readers.push(connect(config.clone()).await.map_err(unreachable)?);
                }
                let version = schema_version(&readers[0])
                    .await
                    .map_err(|e| backend("cannot read the schema version", &e))?;
                if version != MIGRATIONS.len() as i32 {
                    return Err(StoreError::Backend(format!(
                        "{shown} holds vouch schema version {version}; this vouch reads version \
                         {} (a writer applies it on start)",
                        MIGRATIONS.len()
                    )));
                }
                Ok::<_, StoreError>((readers, writer))
            }
        });
        let (readers, writer) = match opened {
            Ok(o) => o,
            Err(e) => {
                // Not dropped: this may be a task of another runtime.
                rt.shutdown_background();
                return Err(e);
            }
        };
        Ok(PgStore {
            rt: Some(rt),
            config,
            shown,
            readers: readers
                .into_iter()
                .map(|c| Mutex::new(Arc::new(c)))
                .collect(),
            next_reader: AtomicUsize::new(0),
            writer: writer.map(Mutex::new),
            hash_cache: quick_cache::sync::Cache::new(HASHES_CACHED),
        })
    }

    /// The writer epoch this store holds (`None` for a reader): raised by every writer
    /// that takes over the database.
    pub fn writer_epoch(&self) -> Option<i64> {
        self.writer.as_ref().map(|w| {
            w.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .epoch
        })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("the runtime lives until drop")
    }

    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        run_on(self.rt(), f)
    }

    /// A read connection, reconnected if it closed.
    fn reader(&self) -> Result<Arc<Client>, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut slot = self.readers[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_closed() {
            let config = self.config.clone();
            let client = self
                .run(connect(config))
                .map_err(|e| backend(&format!("cannot connect to {}", self.shown), &e))?;
            *slot = Arc::new(client);
        }
        Ok(slot.clone())
    }

    /// The stored hashes of `nodes`, in order, all of which must exist.
    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        let levels: Vec<i16> = nodes.iter().map(|n| i16::from(n.level)).collect();
        let idx = nodes
            .iter()
            .map(|n| to_i64(n.index))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = self.query(
            "cannot read hashes",
            "SELECT h.level, h.idx, h.hash FROM vouch_hashes h \
             JOIN unnest($1::smallint[], $2::bigint[]) AS n(level, idx) \
             ON h.level = n.level AND h.idx = n.idx",
            vec![Param::I16s(levels), Param::I64s(idx)],
        )?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let level: i16 = r.get(0);
            let idx: i64 = r.get(1);
            found.insert((level, idx), to_hash(r.get(2))?);
        }
        nodes
            .iter()
            .map(|n| {
                found
                    .get(&(i16::from(n.level), n.index as i64))
                    .copied()
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "hash {} of level {} is missing",
                            n.index, n.level
                        ))
                    })
            })
            .collect()
    }

    /// Runs one read query.
    fn query(
        &self,
        what: &'static str,
        sql: &'static str,
        params: Vec<Param>,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.reader()?;
        self.run(async move {
            let typed: Vec<Typed<'_>> = params.iter().map(|p| (p.as_sql(), p.pg_type())).collect();
            client.query_typed(sql, &typed).await
        })
        .map_err(|e| backend(what, &e))
    }
}

/// An owned query parameter (queries run on another thread).
enum Param {
    I64(i64),
    I16(i16),
    Bytes(Vec<u8>),
    Text(String),
    I64s(Vec<i64>),
    I16s(Vec<i16>),
    ByteArrays(Vec<Vec<u8>>),
}

impl Param {
    /// The parameter's type, sent with it: a query is then one round trip (no
    /// separate prepare).
    fn pg_type(&self) -> Type {
        match self {
            Param::I64(_) => Type::INT8,
            Param::I16(_) => Type::INT2,
            Param::Bytes(_) => Type::BYTEA,
            Param::Text(_) => Type::TEXT,
            Param::I64s(_) => Type::INT8_ARRAY,
            Param::I16s(_) => Type::INT2_ARRAY,
            Param::ByteArrays(_) => Type::BYTEA_ARRAY,
        }
    }

    fn as_sql(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Param::I64(v) => v,
            Param::I16(v) => v,
            Param::Bytes(v) => v,
            Param::Text(v) => v,
            Param::I64s(v) => v,
            Param::I16s(v) => v,
            Param::ByteArrays(v) => v,
        }
    }
}

fn subject_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<(u64, Hash)>, StoreError> {
    rows.iter()
        .map(|r| Ok((to_u64(r.get(0))?, to_hash(r.get(1))?)))
        .collect()
}

fn chain_head(count: i64, newest: i64, leaf: &[u8]) -> Result<ChainHead, StoreError> {
    Ok(ChainHead {
        count: to_u64(count)?,
        newest_index: to_u64(newest)?,
        newest_leaf_hash: to_hash(leaf)?,
    })
}

/// A batch as the columns of its rows.
struct Rows {
    start: i64,
    new_size: i64,
    entry_idx: Vec<i64>,
    entry_bytes: Vec<Vec<u8>>,
    dedup_keys: Vec<Vec<u8>>,
    subject_names: Vec<Vec<u8>>,
    subject_idx: Vec<i64>,
    subject_leaves: Vec<Vec<u8>>,
    levels: Vec<i16>,
    node_idx: Vec<i64>,
    node_hashes: Vec<Vec<u8>>,
    heads: Option<Vec<(String, ChainHead)>>,
    checkpoint: Vec<u8>,
    meta: Vec<(String, Vec<u8>)>,
}

impl Rows {
    fn of(batch: Batch) -> Result<Self, StoreError> {
        let start = to_i64(batch.start)?;
        let new_size = to_i64(batch.new_size())?;
        let mut rows = Rows {
            start,
            new_size,
            entry_idx: Vec::with_capacity(batch.entries.len()),
            entry_bytes: Vec::with_capacity(batch.entries.len()),
            dedup_keys: Vec::with_capacity(batch.entries.len()),
            subject_names: Vec::new(),
            subject_idx: Vec::new(),
            subject_leaves: Vec::new(),
            levels: Vec::with_capacity(batch.nodes.len()),
            node_idx: Vec::with_capacity(batch.nodes.len()),
            node_hashes: Vec::with_capacity(batch.nodes.len()),
            heads: batch.heads,
            checkpoint: batch.checkpoint,
            meta: batch.meta,
        };
        for (i, e) in batch.entries.into_iter().enumerate() {
            let index = start + i as i64;
            if let Some(s) = e.subject {
                check_subject(&s)?;
                rows.subject_names.push(s.into_bytes());
                rows.subject_idx.push(index);
                rows.subject_leaves.push(e.leaf_hash.to_vec());
            }
            rows.entry_idx.push(index);
            rows.entry_bytes.push(e.bytes);
            rows.dedup_keys.push(e.dedup_key.to_vec());
        }
        for (n, h) in batch.nodes {
            rows.levels.push(i16::from(n.level));
            rows.node_idx.push(to_i64(n.index)?);
            rows.node_hashes.push(h.to_vec());
        }
        Ok(rows)
    }
}

/// A query parameter with its type.
type Typed<'a> = (&'a (dyn ToSql + Sync), Type);

/// Why a batch's transaction ended without a commit.
enum Refused {
    /// Known not to be stored: rolled back, or refused before it began.
    Store(StoreError),
    /// The connection failed; the batch may or may not be stored.
    Unknown(String),
}

/// Writes `rows` in one transaction on the writer's connection.
async fn write_rows(client: &mut Client, epoch: i64, rows: Rows) -> Result<(), Refused> {
    let lost = |e: &tokio_postgres::Error| {
        if e.as_db_error().is_some() {
            Refused::Store(backend("the batch was rolled back", e))
        } else {
            Refused::Unknown(format!(
                "the connection to PostgreSQL failed during a batch: {e}"
            ))
        }
    };
    let tx = client.transaction().await.map_err(|e| lost(&e))?;
    let state = tx
        .query_typed_one(
            "SELECT tree_size, writer_epoch FROM vouch_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(|e| lost(&e))?;
    let (size, stored_epoch): (i64, i64) = (state.get(0), state.get(1));
    if stored_epoch != epoch {
        return Err(Refused::Store(StoreError::Fenced(format!(
            "another vouch process took over writing it (writer epoch {stored_epoch}, this \
             process held {epoch})"
        ))));
    }
    if size != rows.start {
        return Err(Refused::Store(StoreError::NotAppendOnly {
            got: rows.start as u64,
            want: size as u64,
        }));
    }
    // The chain heads after the batch: the writer's, or the stored ones moved on.
    let heads = match rows.heads {
        Some(h) => h,
        None => {
            let names: Vec<Vec<u8>> = {
                let mut n = rows.subject_names.clone();
                n.sort();
                n.dedup();
                n
            };
            let stored = tx
                .query_typed(
                    "SELECT subject, count, newest_idx, newest_leaf FROM vouch_subjects \
                     WHERE subject = ANY($1)",
                    &[(&names, Type::BYTEA_ARRAY)],
                )
                .await
                .map_err(|e| lost(&e))?;
            let mut heads = std::collections::HashMap::new();
            for r in &stored {
                let name: Vec<u8> = r.get(0);
                let head = chain_head(r.get(1), r.get(2), r.get(3)).map_err(Refused::Store)?;
                heads.insert(name, head);
            }
            for ((name, idx), leaf) in rows
                .subject_names
                .iter()
                .zip(&rows.subject_idx)
                .zip(&rows.subject_leaves)
            {
                heads
                    .entry(name.clone())
                    .or_default()
                    .push(*idx as u64, to_hash(leaf).map_err(Refused::Store)?);
            }
            heads
                .into_iter()
                .map(|(n, h)| (String::from_utf8_lossy(&n).into_owned(), h))
                .collect()
        }
    };
    let mut head_names = Vec::with_capacity(heads.len());
    let mut head_counts = Vec::with_capacity(heads.len());
    let mut head_idx = Vec::with_capacity(heads.len());
    let mut head_leaves = Vec::with_capacity(heads.len());
    for (name, h) in heads {
        head_names.push(name.into_bytes());
        head_counts.push(to_i64(h.count).map_err(Refused::Store)?);
        head_idx.push(to_i64(h.newest_index).map_err(Refused::Store)?);
        head_leaves.push(h.newest_leaf_hash.to_vec());
    }
    let (meta_names, meta_values): (Vec<String>, Vec<Vec<u8>>) = rows.meta.into_iter().unzip();
    use Type as T;
    let statements: [(&str, &[Typed<'_>]); 8] = [
        (
            "INSERT INTO vouch_entries (idx, bytes) \
             SELECT * FROM unnest($1::bigint[], $2::bytea[])",
            &[
                (&rows.entry_idx, T::INT8_ARRAY),
                (&rows.entry_bytes, T::BYTEA_ARRAY),
            ],
        ),
        (
            "INSERT INTO vouch_dedup (key, idx) SELECT * FROM unnest($1::bytea[], $2::bigint[])",
            &[
                (&rows.dedup_keys, T::BYTEA_ARRAY),
                (&rows.entry_idx, T::INT8_ARRAY),
            ],
        ),
        (
            "INSERT INTO vouch_subject_entries (subject, idx, leaf) \
             SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[])",
            &[
                (&rows.subject_names, T::BYTEA_ARRAY),
                (&rows.subject_idx, T::INT8_ARRAY),
                (&rows.subject_leaves, T::BYTEA_ARRAY),
            ],
        ),
        (
            "INSERT INTO vouch_subjects (subject, count, newest_idx, newest_leaf) \
             SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bytea[]) \
             ON CONFLICT (subject) DO UPDATE SET count = excluded.count, \
             newest_idx = excluded.newest_idx, newest_leaf = excluded.newest_leaf",
            &[
                (&head_names, T::BYTEA_ARRAY),
                (&head_counts, T::INT8_ARRAY),
                (&head_idx, T::INT8_ARRAY),
                (&head_leaves, T::BYTEA_ARRAY),
            ],
        ),
        (
            "INSERT INTO vouch_hashes (level, idx, hash) \
             SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
            &[
                (&rows.levels, T::INT2_ARRAY),
                (&rows.node_idx, T::INT8_ARRAY),
                (&rows.node_hashes, T::BYTEA_ARRAY),
            ],
        ),
        (
            "INSERT INTO vouch_checkpoints (size, signed) VALUES ($1, $2) \
             ON CONFLICT (size) DO UPDATE SET signed = excluded.signed",
            &[(&rows.new_size, T::INT8), (&rows.checkpoint, T::BYTEA)],
        ),
        (
            "INSERT INTO vouch_meta (name, value) SELECT * FROM unnest($1::text[], $2::bytea[]) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[(&meta_names, T::TEXT_ARRAY), (&meta_values, T::BYTEA_ARRAY)],
        ),
        (
            "UPDATE vouch_state SET tree_size = $1 WHERE id = 1",
            &[(&rows.new_size, T::INT8)],
        ),
    ];
    // Sent at once, one after the other on the connection (pipelined): a batch waits
    // for three round trips (the lock, the rows, the commit), not ten.
    futures_util::future::try_join_all(
        statements
            .iter()
            .map(|(sql, params)| tx.execute_typed(sql, params)),
    )
    .await
    .map_err(|e| lost(&e))?;
    tx.commit().await.map_err(|e| match e.as_db_error() {
        // The server answered: it did not commit.
        Some(_) => Refused::Store(backend("the batch's commit was refused", &e)),
        None => Refused::Unknown(format!(
            "the connection to PostgreSQL failed while committing a batch: {e}"
        )),
    })
}

impl Store for PgStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        let rows = self.query(
            "cannot read the tree size",
            "SELECT tree_size FROM vouch_state WHERE id = 1",
            vec![],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("the state row is missing".into()))?;
        to_u64(row.get(0))
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Err(StoreError::Backend(
                "this store was opened to read only".into(),
            ));
        };
        let rows = Rows::of(batch)?;
        let mut writer = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let epoch = writer.epoch;
        let Some(mut client) = writer.client.take() else {
            return Err(StoreError::Halted(
                "the connection to PostgreSQL failed; waiting to reconnect".into(),
            ));
        };
        let (client, result) = self.run(async move {
            let result = write_rows(&mut client, epoch, rows).await;
            (client, result)
        });
        match result {
            Ok(()) => {
                writer.client = Some(client);
                Ok(())
            }
            Err(Refused::Store(e)) => {
                // A fenced writer lets go of its connection (and any lock it holds) for
                // good: only a restart, which waits for the lock, writes again.
                if !client.is_closed() && !matches!(e, StoreError::Fenced(_)) {
                    writer.client = Some(client);
                }
                Err(e)
            }
            // Whether it committed is for `recover` to find out, on a new connection
            // (this one may still hold the writer lock at the server for a while).
            Err(Refused::Unknown(why)) => Err(StoreError::Halted(why)),
        }
    }

    fn recover(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let mut writer = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if writer.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        // A new connection takes the lock again (not waiting: the sequencer asks
        // again every second) and a new epoch, so that a batch the old connection
        // left in flight can no longer commit.
        let config = self.config.clone();
        let shown = self.shown.clone();
        let (client, epoch) = self.run(async move {
            let client = connect(config).await.map_err(|e| {
                StoreError::Backend(format!("cannot connect to {shown}: {}", error_text(&e)))
            })?;
            let epoch = take_writer_lock(&client, false, &shown).await?;
            Ok::<_, StoreError>((client, epoch))
        })?;
        writer.client = Some(client);
        writer.epoch = epoch;
        Ok(())
    }

    fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "cannot read entries",
            "SELECT idx, bytes FROM vouch_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            vec![
                Param::I64(to_i64(start)?),
                Param::I64(to_i64(start.saturating_add(count))?),
            ],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let want = start + i as u64;
            if to_u64(r.get(0))? != want {
                break;
            }
            out.push(r.get::<_, Vec<u8>>(1));
        }
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "entry {} is missing",
                start + out.len() as u64
            )));
        }
        Ok(out)
    }

    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        let cached: Vec<Option<Hash>> = nodes
            .iter()
            .map(|n| self.hash_cache.get(&(n.level, n.index)))
            .collect();
        let missing: Vec<Node> = nodes
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(n, _)| *n)
            .collect();
        if missing.is_empty() {
            return Ok(cached.into_iter().flatten().collect());
        }
        let read = self.read_hashes(&missing)?;
        for (n, h) in missing.iter().zip(&read) {
            self.hash_cache.insert((n.level, n.index), *h);
        }
        let mut read = read.into_iter();
        Ok(cached
            .into_iter()
            .map(|c| {
                c.or_else(|| read.next())
                    .expect("one read per missing hash")
            })
            .collect())
    }
    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let start = to_i64(first.index)?;
        let rows = self.query(
            "cannot read hashes",
            "SELECT idx, hash FROM vouch_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 \
             ORDER BY idx",
            vec![
                Param::I16(i16::from(first.level)),
                Param::I64(start),
                Param::I64(to_i64(first.index.saturating_add(count))?),
            ],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if r.get::<_, i64>(0) != start + i as i64 {
                break;
            }
            out.push(to_hash(r.get(1))?);
        }
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "hash {} of level {} is missing",
                first.index + out.len() as u64,
                first.level
            )));
        }
        Ok(out)
    }

    fn find(&self, dedup_key: &Hash) -> Result<Option<u64>, StoreError> {
        let rows = self.query(
            "cannot read the duplicate index",
            "SELECT idx FROM vouch_dedup WHERE key = $1",
            vec![Param::Bytes(dedup_key.to_vec())],
        )?;
        rows.first().map(|r| to_u64(r.get(0))).transpose()
    }

    fn find_all(&self, keys: &[Hash]) -> Result<Vec<Option<u64>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "cannot read the duplicate index",
            "SELECT key, idx FROM vouch_dedup WHERE key = ANY($1)",
            vec![Param::ByteArrays(keys.iter().map(|k| k.to_vec()).collect())],
        )?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            found.insert(to_hash(r.get(0))?, to_u64(r.get(1))?);
        }
        Ok(keys.iter().map(|k| found.get(k).copied()).collect())
    }

    fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        check_subject(subject)?;
        let rows = self.query(
            "cannot read a subject's entries",
            "SELECT idx, leaf FROM vouch_subject_entries WHERE subject = $1 AND idx >= $2 \
             ORDER BY idx LIMIT $3",
            vec![
                Param::Bytes(subject.as_bytes().to_vec()),
                Param::I64(to_i64(from)?),
                Param::I64(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )?;
        subject_rows(&rows)
    }

    fn subject_entries_before(
        &self,
        subject: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        check_subject(subject)?;
        let rows = self.query(
            "cannot read a subject's entries",
            "SELECT idx, leaf FROM vouch_subject_entries WHERE subject = $1 AND idx < $2 \
             ORDER BY idx DESC LIMIT $3",
            vec![
                Param::Bytes(subject.as_bytes().to_vec()),
                Param::I64(i64::try_from(before).unwrap_or(i64::MAX)),
                Param::I64(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )?;
        subject_rows(&rows)
    }

    fn subject_head(&self, subject: &str) -> Result<Option<ChainHead>, StoreError> {
        check_subject(subject)?;
        let rows = self.query(
            "cannot read a subject's chain head",
            "SELECT count, newest_idx, newest_leaf FROM vouch_subjects WHERE subject = $1",
            vec![Param::Bytes(subject.as_bytes().to_vec())],
        )?;
        rows.first()
            .map(|r| chain_head(r.get(0), r.get(1), r.get(2)))
            .transpose()
    }

    fn subject_heads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ChainHead)>, StoreError> {
        let limit = Param::I64(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = match after {
            Some(after) => self.query(
                "cannot read the subjects",
                "SELECT subject, count, newest_idx, newest_leaf FROM vouch_subjects \
                 WHERE subject > $1 ORDER BY subject LIMIT $2",
                vec![Param::Bytes(after.as_bytes().to_vec()), limit],
            )?,
            None => self.query(
                "cannot read the subjects",
                "SELECT subject, count, newest_idx, newest_leaf FROM vouch_subjects \
                 ORDER BY subject LIMIT $1",
                vec![limit],
            )?,
        };
        rows.iter()
            .map(|r| {
                let name = String::from_utf8(r.get(0))
                    .map_err(|_| StoreError::Corrupt("a stored subject is not UTF-8".into()))?;
                Ok((name, chain_head(r.get(1), r.get(2), r.get(3))?))
            })
            .collect()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            "cannot read a checkpoint",
            "SELECT signed FROM vouch_checkpoints WHERE size = $1",
            vec![Param::I64(to_i64(size)?)],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            "cannot read the newest checkpoint",
            "SELECT signed FROM vouch_checkpoints ORDER BY size DESC LIMIT 1",
            vec![],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            "cannot read metadata",
            "SELECT value FROM vouch_meta WHERE name = $1",
            vec![Param::Text(name.to_owned())],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.query(
            "cannot read the database's size",
            "SELECT pg_database_size(current_database())",
            vec![],
        )
        .ok()?
        .first()
        .and_then(|r| u64::try_from(r.get::<_, i64>(0)).ok())
    }
}
