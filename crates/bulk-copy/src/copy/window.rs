//! The watermark copy's one binlog reader: the row changes each chunk's
//! window needs, and the DDL that stops a table's copy (see `watermark` for
//! the algorithm).
//!
//! One reader streams the source's binlog for the whole copy, from the
//! position read before the first chunk. It keeps the row changes of a
//! table only while a chunk of that table is in flight (registered before
//! its low watermark is read), and drops them once no chunk's window can
//! reach them any more: memory is bounded by the windows (how much the
//! source writes to the tables being read while their chunks are read), not
//! by the tables. A chunk waits until the reader has passed its high
//! watermark, then takes the changes of its window.
//!
//! Every event is looked at; what cannot be reconciled stops the copy
//! (design rule 11): a DDL on a table the copy reads (catalogue L1: the
//! table's copy stops with an error naming the table and the statement, so
//! that no chunk mixes two definitions), a table map whose columns are not
//! the table's (a DDL not recognized as one), a statement logged instead of
//! rows in a database the copy reads, rows of an XA transaction (whether
//! it commits is decided later), an INCIDENT, and the events that carry row
//! changes this reader cannot see (statement-based LOAD DATA, pre-GA rows)
//! or are unknown to it. Events that change no row are passed over: format
//! descriptions, rotations, GTIDs and GTID lists, checkpoints, table maps,
//! statement annotations, heartbeats, the INTVAR, RAND and USER_VAR of
//! statements (which are refused themselves), STOP, and MySQL's
//! TRANSACTION_CONTEXT, VIEW_CHANGE, IGNORABLE and SLAVE events.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use binlog_reader::event::{QueryEvent, RowChange};
use binlog_reader::position::FilePosition;
use binlog_reader::{BinlogStreamReader, Event, EventBody, EventType, StreamConfig, StreamStart};
use mysql_async::Opts;
use schema_diff::binlog_ddl::{classify, DdlKind};
use server_dialect::quote;
use tokio::sync::Notify;

use crate::base::error::CopyError;

/// How long a chunk waits for the reader to pass its high watermark before
/// the copy stops: far beyond any lag a working stream has, short of a
/// hang.
const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// The row changes of one rows event of a table being read.
#[derive(Debug)]
pub(super) struct Held {
    /// Where the event is (a transaction at or after a low watermark and
    /// before a high one is inside that window).
    pub(super) at: FilePosition,
    /// Its changes, in order.
    pub(super) changes: Vec<RowChange>,
}

/// What the reader keeps for one table of the copy.
#[derive(Default)]
struct Watch {
    /// Its columns, as the copy read them: a table map with another count
    /// means its definition changed.
    columns: usize,
    /// Its chunks in flight, by registration, with their low watermark once
    /// read.
    chunks: HashMap<u64, Option<FilePosition>>,
    /// Its row changes the chunks in flight may need, in binlog order.
    events: VecDeque<Arc<Held>>,
    /// The first change of its definition read since the copy began: where,
    /// and what.
    changed: Option<(FilePosition, String)>,
}

impl Watch {
    /// Drops what no chunk in flight can need: everything when none is,
    /// else what lies before the lowest low watermark (once every chunk has
    /// read its own).
    fn prune(&mut self) {
        if self.chunks.is_empty() {
            self.events.clear();
            return;
        }
        let mut lowest: Option<&FilePosition> = None;
        for l in self.chunks.values() {
            let Some(l) = l else { return };
            if lowest.is_none_or(|x| before(l, x)) {
                lowest = Some(l);
            }
        }
        let Some(lowest) = lowest.cloned() else {
            return;
        };
        while self.events.front().is_some_and(|e| before(&e.at, &lowest)) {
            self.events.pop_front();
        }
    }
}

/// Whether `a` comes before `b` (positions of different file series never
/// do).
fn before(a: &FilePosition, b: &FilePosition) -> bool {
    a.partial_cmp(b) == Some(std::cmp::Ordering::Less)
}

struct State {
    /// Every event up to here has been looked at.
    received: FilePosition,
    /// Why the reader stopped: (where, what).
    failed: Option<(String, String)>,
    /// The tables of the copy, by source database and name.
    tables: HashMap<(String, String), Watch>,
    /// The source databases of the copy.
    databases: Vec<String>,
    next_id: u64,
    /// Inside an XA transaction (its rows are refused: whether it commits
    /// is decided after its prepare, outside any window).
    in_xa: bool,
}

impl State {
    fn fail(&mut self, at: &FilePosition, reason: String) {
        if self.failed.is_none() {
            self.failed = Some((at.to_string(), reason));
        }
    }

    /// Records a change of `db`.`table`'s definition, if it is a table of
    /// the copy.
    fn changed(&mut self, db: &str, table: &str, at: &FilePosition, what: &str) {
        // Names compare as the server would on a case-insensitive file
        // system too: a false match stops the copy, a missed one would mix
        // two definitions.
        for ((d, t), w) in self.tables.iter_mut() {
            if d.eq_ignore_ascii_case(db) && t.eq_ignore_ascii_case(table) && w.changed.is_none() {
                w.changed = Some((at.clone(), what.to_string()));
            }
        }
    }

    fn event(&mut self, ev: Event) {
        let at = FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.pos);
        match ev.body {
            EventBody::Rows(r) => {
                let key = (r.table.schema.clone(), r.table.table.clone());
                if self.in_xa && self.tables.contains_key(&key) {
                    self.fail(
                        &at,
                        format!(
                            "an XA transaction changed {}.{}, which the copy is reading; whether \
                             it commits is decided after its XA PREPARE, so a watermark window \
                             cannot hold it. Avoid XA on the source during the copy, or use \
                             snapshot = \"consistent\" on MariaDB",
                            quote(&key.0),
                            quote(&key.1)
                        ),
                    );
                    return;
                }
                let Some(w) = self.tables.get_mut(&key) else {
                    return;
                };
                if r.table.columns.len() != w.columns {
                    if w.changed.is_none() {
                        w.changed = Some((
                            at,
                            format!(
                                "a table map with {} columns where the copy read {}",
                                r.table.columns.len(),
                                w.columns
                            ),
                        ));
                    }
                    return;
                }
                if !w.chunks.is_empty() {
                    // MySQL's partial JSON updates: the whole documents, as
                    // the apply writes them.
                    let changes = if r.kind == binlog_reader::event::RowsKind::PartialUpdate {
                        match crate::apply::resolve_partial_json(&r) {
                            Ok(whole) => whole.rows,
                            Err(reason) => {
                                self.fail(
                                    &at,
                                    format!("{}.{}: {reason}", quote(&key.0), quote(&key.1)),
                                );
                                return;
                            }
                        }
                    } else {
                        r.rows
                    };
                    w.events.push_back(Arc::new(Held { at, changes }));
                }
            }
            EventBody::TransactionPayload(p) => {
                for inner in p.events {
                    self.event(inner);
                }
            }
            EventBody::Query(q) => self.query(&q, &at),
            EventBody::XaPrepare(_) => self.in_xa = false,
            EventBody::Gtid(_) | EventBody::MariadbGtid(_) | EventBody::Xid(_) => {
                self.in_xa = false;
            }
            EventBody::Incident(i) => self.fail(
                &at,
                format!(
                    "the source logged an INCIDENT ({}: {}): changes may be missing from its \
                     binlog, so no window is known to be complete. Run the copy again",
                    i.incident, i.message
                ),
            ),
            EventBody::MariadbStartEncryption { .. } => self.fail(
                &at,
                "the source's binlog is encrypted from here (START_ENCRYPTION), which the \
                 watermark copy cannot read; use snapshot = \"consistent\" on MariaDB"
                    .into(),
            ),
            EventBody::Other { .. } => {
                let t = ev.header.event_type;
                let harmless = [
                    EventType::TRANSACTION_CONTEXT,
                    EventType::VIEW_CHANGE,
                    EventType::IGNORABLE,
                    EventType::SLAVE,
                ];
                if !harmless.contains(&t) {
                    self.fail(
                        &at,
                        format!(
                            "a {} event, which may change rows the watermark copy cannot see \
                             (statement-based LOAD DATA, pre-GA row events, or an event it \
                             does not know); stopping rather than writing a chunk that could \
                             miss a change",
                            t.name()
                        ),
                    );
                }
            }
            // No row change in these (see the module documentation).
            EventBody::FormatDescription(_)
            | EventBody::Rotate(_)
            | EventBody::TableMap(_)
            | EventBody::RowsQuery(_)
            | EventBody::PreviousGtids(_)
            | EventBody::Heartbeat(_)
            | EventBody::IntVar(_)
            | EventBody::Rand(_)
            | EventBody::UserVar(_)
            | EventBody::Stop
            | EventBody::MariadbGtidList(_)
            | EventBody::MariadbBinlogCheckpoint(_) => {}
            // A kind of event this version does not know: it may change
            // rows.
            _ => self.fail(
                &at,
                format!(
                    "a {} event this version of the watermark copy does not know; stopping \
                     rather than writing a chunk that could miss a change",
                    ev.header.event_type.name()
                ),
            ),
        }
    }

    fn query(&mut self, q: &QueryEvent, at: &FilePosition) {
        let sql = q.query_text();
        let kw = sql.trim_start().to_ascii_uppercase();
        if kw.starts_with("XA START") || kw.starts_with("XA BEGIN") {
            self.in_xa = true;
            return;
        }
        if kw.starts_with("XA ") {
            // XA END stays inside the transaction; XA COMMIT ... ONE PHASE,
            // XA COMMIT and XA ROLLBACK end it.
            self.in_xa = kw.starts_with("XA END");
            return;
        }
        if crate::apply::is_dml_statement(&sql) {
            let db = q.schema.as_str();
            if db.is_empty() || self.databases.iter().any(|d| d.eq_ignore_ascii_case(db)) {
                self.fail(
                    at,
                    format!(
                        "the source logged a statement instead of row changes (binlog_format \
                         STATEMENT or MIXED in that session){}: {}. A window cannot reconcile \
                         it. Set binlog_format=ROW for every session on the source and run the \
                         copy again",
                        if db.is_empty() {
                            String::new()
                        } else {
                            format!(" in {}", quote(db))
                        },
                        sql.chars().take(200).collect::<String>()
                    ),
                );
            }
            return;
        }
        let st = classify(&sql);
        let tables: Vec<&schema_diff::binlog_ddl::Touched> = match st.kind {
            DdlKind::CreateTable
            | DdlKind::AlterTable
            | DdlKind::DropTable
            | DdlKind::RenameTable
            | DdlKind::TruncateTable => st.objects.iter().collect(),
            // The index, then its table.
            DdlKind::CreateIndex | DdlKind::DropIndex => st.objects.iter().skip(1).collect(),
            DdlKind::DropDatabase => {
                if let Some(o) = st.objects.first() {
                    let names: Vec<(String, String)> = self
                        .tables
                        .keys()
                        .filter(|(d, _)| d.eq_ignore_ascii_case(&o.name))
                        .cloned()
                        .collect();
                    let what = sql.chars().take(200).collect::<String>();
                    for (d, t) in names {
                        self.changed(&d, &t, at, &what);
                    }
                }
                return;
            }
            _ => return,
        };
        let what = sql.chars().take(200).collect::<String>();
        for t in tables {
            let db = t.database.clone().unwrap_or_else(|| q.schema.clone());
            self.changed(&db, &t.name, at, &what);
        }
    }
}

/// The watermark copy's binlog reader and what it keeps (see the module
/// documentation).
pub(super) struct Windows {
    state: Mutex<State>,
    notify: Notify,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Windows {
    /// Starts the reader at `start`, for the tables of the copy (source
    /// database, name, column count).
    pub(super) async fn start(
        source: &Opts,
        server_id: u32,
        start: FilePosition,
        tables: &[(String, String, usize)],
    ) -> Result<Arc<Windows>, CopyError> {
        let mut databases: Vec<String> = tables.iter().map(|t| t.0.clone()).collect();
        databases.sort();
        databases.dedup();
        let windows = Arc::new(Windows {
            state: Mutex::new(State {
                received: start.clone(),
                failed: None,
                tables: tables
                    .iter()
                    .map(|(d, t, n)| {
                        (
                            (d.clone(), t.clone()),
                            Watch {
                                columns: *n,
                                ..Watch::default()
                            },
                        )
                    })
                    .collect(),
                databases,
                next_id: 0,
                in_xa: false,
            }),
            notify: Notify::new(),
            task: Mutex::new(None),
        });
        let cfg = StreamConfig::new(
            source.clone(),
            server_id,
            StreamStart::File(Some(start.file.clone()), start.offset),
        );
        let mut reader = BinlogStreamReader::connect(cfg)
            .await
            .map_err(|e| CopyError::Binlog {
                at: start.to_string(),
                reason: format!(
                    "the watermark copy cannot read the source's binlog ({e}); it needs the \
                     REPLICATION SLAVE privilege (REPLICATION CLIENT or BINLOG MONITOR for the \
                     position), or use snapshot = \"consistent\" on MariaDB"
                ),
            })?;
        let w = windows.clone();
        let task = tokio::spawn(async move {
            loop {
                match reader.next().await {
                    Ok(Some(ev)) => w.event(ev),
                    Ok(None) => {
                        let mut st = w.lock();
                        let at = st.received.clone();
                        st.fail(&at, "the binlog stream ended".into());
                        drop(st);
                        w.notify.notify_waiters();
                        return;
                    }
                    Err(e) => {
                        let mut st = w.lock();
                        let at = st.received.clone();
                        st.fail(
                            &at,
                            format!("the watermark copy's binlog reader stopped: {e}"),
                        );
                        drop(st);
                        w.notify.notify_waiters();
                        return;
                    }
                }
            }
        });
        *windows.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(windows)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn event(&self, ev: Event) {
        let end = match (&ev.file, &ev.body) {
            // A heartbeat says where the source is once it has sent
            // everything before.
            (_, EventBody::Heartbeat(h)) if !h.log_file.is_empty() => {
                Some(FilePosition::new(h.log_file.as_str(), h.position))
            }
            (Some(f), _) if ev.end_pos > ev.pos => Some(FilePosition::new(&**f, ev.end_pos)),
            _ => None,
        };
        let mut st = self.lock();
        st.event(ev);
        if let Some(end) = end {
            if before(&st.received, &end) {
                st.received = end;
            }
        }
        drop(st);
        self.notify.notify_waiters();
    }

    /// Starts keeping the row changes of `db`.`table` for a chunk, from now
    /// on: call it before reading the chunk's low watermark, so that every
    /// change after that position is kept (the reader cannot have seen one
    /// yet).
    pub(super) fn register(self: &Arc<Self>, db: &str, table: &str) -> Registration {
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        let key = (db.to_string(), table.to_string());
        if let Some(w) = st.tables.get_mut(&key) {
            w.chunks.insert(id, None);
        }
        Registration {
            windows: self.clone(),
            key,
            id,
        }
    }

    /// Waits until the reader has looked at every event before `h`.
    ///
    /// # Errors
    ///
    /// [`CopyError::Binlog`] when the reader stopped, or did not get there
    /// in ten minutes.
    pub(super) async fn wait_past(&self, h: &FilePosition) -> Result<(), CopyError> {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.lock();
                if let Some((at, reason)) = &st.failed {
                    return Err(CopyError::Binlog {
                        at: at.clone(),
                        reason: reason.clone(),
                    });
                }
                if !before(&st.received, h) {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let at = self.lock().received.to_string();
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "the watermark copy's binlog reader did not reach {h} in {} minutes",
                        WAIT_LIMIT.as_secs() / 60
                    ),
                });
            }
        }
    }

    /// Stops the reader.
    pub(super) fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
    }
}

impl Drop for Windows {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A chunk in flight: the reader keeps its table's row changes until it is
/// dropped.
pub(super) struct Registration {
    windows: Arc<Windows>,
    key: (String, String),
    id: u64,
}

impl Registration {
    /// Records the chunk's low watermark: changes before it are not needed
    /// by this chunk.
    pub(super) fn set_low(&self, l: &FilePosition) {
        let mut st = self.windows.lock();
        if let Some(w) = st.tables.get_mut(&self.key) {
            w.chunks.insert(self.id, Some(l.clone()));
            w.prune();
        }
    }

    /// Fails when the table's definition changed before `h` since the copy
    /// began (catalogue L1), or the reader stopped.
    pub(super) fn check_unchanged(&self, h: &FilePosition) -> Result<(), CopyError> {
        let st = self.windows.lock();
        if let Some((at, reason)) = &st.failed {
            return Err(CopyError::Binlog {
                at: at.clone(),
                reason: reason.clone(),
            });
        }
        if let Some((at, what)) = st.tables.get(&self.key).and_then(|w| w.changed.as_ref()) {
            if before(at, h) {
                return Err(CopyError::Table {
                    table: format!("{}.{}", quote(&self.key.0), quote(&self.key.1)),
                    reason: format!(
                        "its definition changed at binlog position {at} ({what}) while the \
                         watermark copy was reading it, and a copy never mixes two definitions \
                         in one table. Create the table on the target again with its new \
                         definition (empty), delete its rows in the metadata schema's \
                         copy_range, and run the copy again"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The row changes of the window `[l, h)`, in binlog order, after
    /// [`Windows::wait_past`] for `h`.
    ///
    /// # Errors
    ///
    /// As [`Registration::check_unchanged`].
    pub(super) fn take(
        &self,
        l: &FilePosition,
        h: &FilePosition,
    ) -> Result<Vec<Arc<Held>>, CopyError> {
        self.check_unchanged(h)?;
        let st = self.windows.lock();
        Ok(st
            .tables
            .get(&self.key)
            .map(|w| {
                w.events
                    .iter()
                    .filter(|e| !before(&e.at, l) && before(&e.at, h))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut st = self.windows.lock();
        if let Some(w) = st.tables.get_mut(&self.key) {
            w.chunks.remove(&self.id);
            w.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binlog_reader::event::{QueryEvent, QueryStatusVars, RowsEvent, RowsKind, TableMapEvent};
    use binlog_reader::{ColumnInfo, EventHeader, JsonDiff, JsonDiffOperation, Value};

    fn state() -> State {
        State {
            received: FilePosition::new("b.000001", 4),
            failed: None,
            tables: [("db", "t", 2), ("db", "u", 1), ("other", "t", 1)]
                .into_iter()
                .map(|(d, t, n)| {
                    (
                        (d.to_string(), t.to_string()),
                        Watch {
                            columns: n,
                            ..Watch::default()
                        },
                    )
                })
                .collect(),
            databases: vec!["db".into(), "other".into()],
            next_id: 0,
            in_xa: false,
        }
    }

    fn query(st: &mut State, schema: &str, sql: &str, pos: u64) {
        st.event(Event {
            file: Some("b.000001".into()),
            pos,
            end_pos: pos + 10,
            header: EventHeader {
                timestamp: 0,
                event_type: EventType::QUERY,
                server_id: 1,
                event_length: 10,
                log_pos: 0,
                flags: 0,
            },
            body: EventBody::Query(QueryEvent {
                thread_id: 1,
                exec_time: 0,
                error_code: 0,
                schema: schema.into(),
                query: sql.as_bytes().to_vec(),
                status: QueryStatusVars::default(),
            }),
        });
    }

    fn changed(st: &State, db: &str, t: &str) -> Option<u64> {
        st.tables[&(db.to_string(), t.to_string())]
            .changed
            .as_ref()
            .map(|(p, _)| p.offset)
    }

    #[test]
    fn a_ddl_marks_the_tables_it_names_in_their_database() {
        let mut st = state();
        query(&mut st, "db", "BEGIN", 100);
        query(&mut st, "db", "CREATE TABLE x (a INT)", 110);
        query(&mut st, "db", "ALTER TABLE other.t ADD COLUMN c INT", 120);
        assert_eq!(changed(&st, "db", "t"), None);
        assert_eq!(changed(&st, "other", "t"), Some(120));
        query(&mut st, "other", "RENAME TABLE db.x TO db.T, t2 TO t3", 130);
        assert_eq!(changed(&st, "db", "t"), Some(130), "case-insensitively");
        query(&mut st, "db", "CREATE INDEX i ON u (a)", 140);
        assert_eq!(changed(&st, "db", "u"), Some(140));
        // The first change is kept.
        query(&mut st, "db", "TRUNCATE u", 150);
        assert_eq!(changed(&st, "db", "u"), Some(140));
        assert!(st.failed.is_none());
    }

    #[test]
    fn dropping_a_database_marks_its_tables() {
        let mut st = state();
        query(&mut st, "", "DROP DATABASE `db`", 100);
        assert_eq!(changed(&st, "db", "t"), Some(100));
        assert_eq!(changed(&st, "db", "u"), Some(100));
        assert_eq!(changed(&st, "other", "t"), None);
    }

    #[test]
    fn a_statement_logged_instead_of_rows_in_a_database_copied_stops_the_reader() {
        let mut st = state();
        query(&mut st, "elsewhere", "INSERT INTO z VALUES (1)", 100);
        assert!(st.failed.is_none(), "another database");
        query(&mut st, "db", "UPDATE t SET a = 1", 110);
        let (at, why) = st.failed.clone().expect("refused");
        assert_eq!(at, "b.000001:110");
        assert!(why.contains("binlog_format=ROW"), "{why}");
    }

    #[test]
    fn an_xa_transaction_is_followed_to_its_end() {
        let mut st = state();
        query(&mut st, "db", "XA START X'01',X'',1", 100);
        assert!(st.in_xa);
        query(&mut st, "db", "XA END X'01',X'',1", 110);
        assert!(st.in_xa);
        query(&mut st, "db", "XA COMMIT X'01',X'',1", 120);
        assert!(!st.in_xa);
    }

    #[test]
    fn changes_are_kept_only_from_the_lowest_low_watermark_of_the_chunks_in_flight() {
        let held = |offset| {
            Arc::new(Held {
                at: FilePosition::new("b.000001", offset),
                changes: Vec::new(),
            })
        };
        let mut w = Watch::default();
        w.events.extend([held(10), held(20), held(30)]);
        // A chunk whose low watermark is not read yet needs everything.
        w.chunks.insert(1, None);
        w.prune();
        assert_eq!(w.events.len(), 3);
        w.chunks.insert(1, Some(FilePosition::new("b.000001", 20)));
        w.chunks.insert(2, Some(FilePosition::new("b.000001", 25)));
        w.prune();
        let left: Vec<u64> = w.events.iter().map(|e| e.at.offset).collect();
        assert_eq!(left, [20, 30]);
        w.chunks.clear();
        w.prune();
        assert!(w.events.is_empty());
    }

    /// A PARTIAL_UPDATE_ROWS event of `db`.`t` (id, doc) at `pos`, one row.
    fn partial(st: &mut State, pos: u64, before: Option<Value>, diffs: Vec<JsonDiff>) {
        let table = Arc::new(TableMapEvent {
            table_id: 7,
            flags: 0,
            schema: "db".into(),
            table: "t".into(),
            columns: vec![ColumnInfo::default(), ColumnInfo::default()],
            has_optional_metadata: false,
            primary_key: None,
        });
        st.event(Event {
            file: Some("b.000001".into()),
            pos,
            end_pos: pos + 10,
            header: EventHeader {
                timestamp: 0,
                event_type: EventType::PARTIAL_UPDATE_ROWS,
                server_id: 1,
                event_length: 10,
                log_pos: 0,
                flags: 0,
            },
            body: EventBody::Rows(RowsEvent {
                kind: RowsKind::PartialUpdate,
                version: 2,
                compressed: false,
                table_id: 7,
                flags: 0,
                extra_data: Vec::new(),
                column_count: 2,
                table,
                rows: vec![RowChange::Update {
                    before: vec![Some(Value::Int(1)), before],
                    after: vec![Some(Value::Int(1)), Some(Value::JsonDiffs(diffs))],
                }],
            }),
        });
    }

    #[test]
    fn a_partial_json_update_is_held_as_the_whole_document_or_stops_the_reader() {
        let mut st = state();
        st.tables
            .get_mut(&("db".to_string(), "t".to_string()))
            .unwrap()
            .chunks
            .insert(1, None);
        let replace = vec![JsonDiff {
            operation: JsonDiffOperation::Replace,
            path: "$.a".into(),
            value: Some("[2]".into()),
        }];
        partial(
            &mut st,
            100,
            Some(Value::Json(r#"{"a": 1, "b": true}"#.into())),
            replace.clone(),
        );
        let w = &st.tables[&("db".to_string(), "t".to_string())];
        let held = w.events.back().expect("held");
        assert_eq!(
            held.changes,
            vec![RowChange::Update {
                before: vec![
                    Some(Value::Int(1)),
                    Some(Value::Json(r#"{"a": 1, "b": true}"#.into()))
                ],
                after: vec![
                    Some(Value::Int(1)),
                    Some(Value::Json(r#"{"a": [2], "b": true}"#.into()))
                ],
            }]
        );
        assert!(st.failed.is_none());
        // No document in the before image (binlog_row_image NOBLOB).
        partial(&mut st, 110, None, replace);
        let (at, why) = st.failed.clone().expect("refused");
        assert_eq!(at, "b.000001:110");
        assert!(why.contains("binlog_row_value_options=''"), "{why}");
    }
}
