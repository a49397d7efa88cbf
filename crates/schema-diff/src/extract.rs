//! Reading the schema model from a server: `information_schema` for the
//! semantic fields, `SHOW CREATE` for each object's text.
//!
//! Only reads. The session is set to `SET NAMES utf8mb4` and
//! `sql_quote_show_create = 1`, so texts come back as the server stores them
//! with every identifier quoted (translation relies on that).

use std::collections::{BTreeMap, HashMap};

use mysql_async::prelude::*;
use mysql_async::{Conn, Params, Value};

use crate::error::{db_err, SchemaError};
use crate::ident::quote;
use crate::model::*;
use crate::tokens::tokenize;
use crate::version::ServerVersion;

/// Databases that belong to the server, never migrated.
pub const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// One result row, by upper-cased column name; NULL is `None`.
type Rec = HashMap<String, Option<String>>;

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        Value::Date(y, mo, d, h, mi, s, us) => Some(if *us == 0 {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        } else {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }),
        Value::Time(neg, d, h, mi, s, us) => {
            let hours = u64::from(*d) * 24 + u64::from(*h);
            let sign = if *neg { "-" } else { "" };
            Some(if *us == 0 {
                format!("{sign}{hours:02}:{mi:02}:{s:02}")
            } else {
                format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
            })
        }
    }
}

async fn records(
    conn: &mut Conn,
    what: &str,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Rec>, SchemaError> {
    let rows: Vec<mysql_async::Row> = if params.is_empty() {
        conn.query(sql).await
    } else {
        conn.exec(sql, Params::Positional(params)).await
    }
    .map_err(db_err(what))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let cols = row.columns();
            let mut rec = Rec::with_capacity(cols.len());
            for (i, c) in cols.iter().enumerate() {
                let v = row.as_ref(i).and_then(value_text);
                rec.insert(c.name_str().to_ascii_uppercase(), v);
            }
            rec
        })
        .collect())
}

fn text(rec: &Rec, col: &str) -> String {
    rec.get(col).cloned().flatten().unwrap_or_default()
}

fn opt(rec: &Rec, col: &str) -> Option<String> {
    rec.get(col).cloned().flatten()
}

fn number(rec: &Rec, col: &str) -> Option<u64> {
    opt(rec, col).and_then(|s| s.trim().parse().ok())
}

/// The server's flavour and version (`SELECT VERSION()`).
///
/// # Errors
///
/// When the query fails or the version cannot be read.
pub async fn server_version(conn: &mut Conn) -> Result<ServerVersion, SchemaError> {
    server_dialect::server_version(conn)
        .await
        .map_err(|e| match e {
            server_dialect::DialectError::Query { error, .. } => SchemaError::Database {
                what: "SELECT VERSION()".into(),
                error,
            },
            server_dialect::DialectError::Version { text } => SchemaError::Version { text },
            other => SchemaError::Version {
                text: other.to_string(),
            },
        })
}

/// The server's databases, without the system ones, by name.
///
/// # Errors
///
/// When the query fails.
pub async fn list_databases(conn: &mut Conn) -> Result<Vec<String>, SchemaError> {
    let recs = records(
        conn,
        "listing databases",
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME",
        vec![],
    )
    .await?;
    Ok(recs
        .iter()
        .map(|r| text(r, "SCHEMA_NAME"))
        .filter(|n| !SYSTEM_DATABASES.contains(&n.to_ascii_lowercase().as_str()))
        .collect())
}

async fn prepare_session(conn: &mut Conn) -> Result<(), SchemaError> {
    conn.query_drop("SET NAMES utf8mb4, SESSION sql_quote_show_create = 1")
        .await
        .map_err(db_err("setting the session for schema reads"))
}

/// Reads the named databases (missing ones are left out).
///
/// # Errors
///
/// When a query fails.
pub async fn extract_schema(conn: &mut Conn, databases: &[String]) -> Result<Schema, SchemaError> {
    let server = server_version(conn).await?;
    prepare_session(conn).await?;
    let mut schema = Schema {
        server: Some(server.clone()),
        databases: Vec::new(),
    };
    for name in databases {
        if let Some(db) = read_database(conn, &server, name).await? {
            schema.databases.push(db);
        }
    }
    schema.sort();
    Ok(schema)
}

/// Reads one database, or `None` when it does not exist.
///
/// # Errors
///
/// When a query fails.
pub async fn extract_database(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<Database>, SchemaError> {
    let server = server_version(conn).await?;
    prepare_session(conn).await?;
    let mut db = read_database(conn, &server, name).await?;
    if let Some(d) = db.as_mut() {
        d.sort();
    }
    Ok(db)
}

/// Reads one table, or `None` when it does not exist (used to refresh the
/// model after a DDL).
///
/// # Errors
///
/// When a query fails.
pub async fn extract_table(
    conn: &mut Conn,
    db: &str,
    name: &str,
) -> Result<Option<Table>, SchemaError> {
    let server = server_version(conn).await?;
    prepare_session(conn).await?;
    let mut tables = read_tables(conn, &server, db, Some(name)).await?;
    Ok(tables.pop())
}

async fn read_database(
    conn: &mut Conn,
    server: &ServerVersion,
    name: &str,
) -> Result<Option<Database>, SchemaError> {
    let recs = records(
        conn,
        &format!("reading database {}", quote(name)),
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        vec![name.into()],
    )
    .await?;
    let Some(rec) = recs.first() else {
        return Ok(None);
    };
    let create_sql = show_create(
        conn,
        &format!("SHOW CREATE DATABASE {}", quote(name)),
        "CREATE DATABASE",
    )
    .await?;
    let mut db = Database {
        name: name.to_string(),
        charset: text(rec, "DEFAULT_CHARACTER_SET_NAME"),
        collation: text(rec, "DEFAULT_COLLATION_NAME"),
        create_sql,
        ..Database::default()
    };
    db.tables = read_tables(conn, server, name, None).await?;
    db.views = read_views(conn, name).await?;
    db.triggers = read_triggers(conn, name).await?;
    db.routines = read_routines(conn, name).await?;
    db.events = read_events(conn, name).await?;
    Ok(Some(db))
}

async fn show_create(conn: &mut Conn, sql: &str, column: &str) -> Result<String, SchemaError> {
    let recs = records(conn, sql, sql, vec![]).await?;
    recs.first()
        .and_then(|r| opt(r, &column.to_ascii_uppercase()))
        .ok_or_else(|| SchemaError::Shape {
            object: sql.to_string(),
            reason: format!("no {column:?} column in the answer (missing privileges?)"),
            text: String::new(),
        })
}

fn filter(table: Option<&str>, col: &str, params: &mut Vec<Value>) -> String {
    match table {
        Some(t) => {
            params.push(t.into());
            format!(" AND {col} = ?")
        }
        None => String::new(),
    }
}

async fn read_tables(
    conn: &mut Conn,
    server: &ServerVersion,
    db: &str,
    only: Option<&str>,
) -> Result<Vec<Table>, SchemaError> {
    let what = |w: &str| format!("reading {w} of database {}", quote(db));
    let mut params = vec![Value::from(db)];
    let f = filter(only, "TABLE_NAME", &mut params);
    let trecs = records(
        conn,
        &what("tables"),
        &format!(
            "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE'){f} \
             ORDER BY TABLE_NAME"
        ),
        params.clone(),
    )
    .await?;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for r in &trecs {
        let name = text(r, "TABLE_NAME");
        tables.insert(
            name.clone(),
            Table {
                name,
                table_type: text(r, "TABLE_TYPE"),
                engine: opt(r, "ENGINE"),
                collation: opt(r, "TABLE_COLLATION"),
                create_options: text(r, "CREATE_OPTIONS"),
                comment: text(r, "TABLE_COMMENT"),
                auto_increment: number(r, "AUTO_INCREMENT"),
                ..Table::default()
            },
        );
    }
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let crecs = records(
        conn,
        &what("columns"),
        &format!(
            "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?{f} \
             ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ),
        params.clone(),
    )
    .await?;
    for r in &crecs {
        if let Some(t) = tables.get_mut(&text(r, "TABLE_NAME")) {
            t.columns.push(column(r));
        }
    }
    let srecs = records(
        conn,
        &what("indexes"),
        &format!(
            "SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?{f} \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
        ),
        params.clone(),
    )
    .await?;
    for r in &srecs {
        let Some(t) = tables.get_mut(&text(r, "TABLE_NAME")) else {
            continue;
        };
        let name = text(r, "INDEX_NAME");
        let part = IndexPart {
            column: opt(r, "COLUMN_NAME"),
            expression: opt(r, "EXPRESSION"),
            sub_part: number(r, "SUB_PART"),
            descending: text(r, "COLLATION") == "D",
        };
        if let Some(ix) = t.indexes.iter_mut().find(|i| i.name == name) {
            ix.parts.push(part);
            continue;
        }
        let index_type = text(r, "INDEX_TYPE");
        let kind = if name == "PRIMARY" {
            IndexKind::Primary
        } else if index_type == "FULLTEXT" {
            IndexKind::Fulltext
        } else if index_type == "SPATIAL" {
            IndexKind::Spatial
        } else if text(r, "NON_UNIQUE") == "0" {
            IndexKind::Unique
        } else {
            IndexKind::Secondary
        };
        let visible = match (opt(r, "IS_VISIBLE"), opt(r, "IGNORED")) {
            (Some(v), _) => v.eq_ignore_ascii_case("YES"),
            (None, Some(ignored)) => !ignored.eq_ignore_ascii_case("YES"),
            (None, None) => true,
        };
        t.indexes.push(Index {
            name,
            kind,
            parts: vec![part],
            index_type,
            comment: text(r, "INDEX_COMMENT"),
            visible,
        });
    }
    // CHECK constraints: MariaDB names them per table (and lists column
    // constraints too), MySQL per database.
    let mut cparams = vec![Value::from(db)];
    let cf = filter(only, "tc.TABLE_NAME", &mut cparams);
    let join_table = if server.is_mariadb() {
        " AND cc.TABLE_NAME = tc.TABLE_NAME"
    } else {
        ""
    };
    let krecs = records(
        conn,
        &what("CHECK constraints"),
        &format!(
            "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE \
             FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
               ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
              AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME{join_table} \
             WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = ?{cf}"
        ),
        cparams,
    )
    .await?;
    for r in &krecs {
        if let Some(t) = tables.get_mut(&text(r, "TABLE_NAME")) {
            t.checks.push(Check {
                name: text(r, "CONSTRAINT_NAME"),
                clause: text(r, "CHECK_CLAUSE"),
            });
        }
    }
    let mut fparams = vec![Value::from(db)];
    let ff = filter(only, "k.TABLE_NAME", &mut fparams);
    let frecs = records(
        conn,
        &what("foreign keys"),
        &format!(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, \
                    k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
              AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL{ff} \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
        ),
        fparams,
    )
    .await?;
    for r in &frecs {
        let Some(t) = tables.get_mut(&text(r, "TABLE_NAME")) else {
            continue;
        };
        let name = text(r, "CONSTRAINT_NAME");
        let col = text(r, "COLUMN_NAME");
        let ref_col = text(r, "REFERENCED_COLUMN_NAME");
        if let Some(fk) = t.foreign_keys.iter_mut().find(|f| f.name == name) {
            fk.columns.push(col);
            fk.ref_columns.push(ref_col);
            continue;
        }
        t.foreign_keys.push(ForeignKey {
            name,
            columns: vec![col],
            ref_database: text(r, "REFERENCED_TABLE_SCHEMA"),
            ref_table: text(r, "REFERENCED_TABLE_NAME"),
            ref_columns: vec![ref_col],
            on_update: text(r, "UPDATE_RULE"),
            on_delete: text(r, "DELETE_RULE"),
        });
    }
    for t in tables.values_mut() {
        t.create_sql = show_create(
            conn,
            &format!("SHOW CREATE TABLE {}.{}", quote(db), quote(&t.name)),
            "Create Table",
        )
        .await?;
        t.partitioning = partitioning_clause(&t.create_sql);
    }
    Ok(tables.into_values().collect())
}

fn column(r: &Rec) -> Column {
    let extra_raw = text(r, "EXTRA");
    let upper = extra_raw.to_ascii_uppercase();
    let invisible = upper.contains("INVISIBLE");
    let generated_stored = upper.contains("STORED GENERATED") || upper.contains("PERSISTENT");
    // What stays in `extra` is what has no field of its own.
    let mut extra = extra_raw.clone();
    for flag in [
        "INVISIBLE",
        "VIRTUAL GENERATED",
        "STORED GENERATED",
        "PERSISTENT GENERATED",
        "DEFAULT_GENERATED",
    ] {
        if let Some(pos) = extra.to_ascii_uppercase().find(flag) {
            extra.replace_range(pos..pos + flag.len(), "");
        }
    }
    let extra = extra.split_whitespace().collect::<Vec<_>>().join(" ");
    let generation_expression = opt(r, "GENERATION_EXPRESSION").filter(|g| !g.is_empty());
    Column {
        name: text(r, "COLUMN_NAME"),
        column_type: text(r, "COLUMN_TYPE"),
        nullable: text(r, "IS_NULLABLE") == "YES",
        default: opt(r, "COLUMN_DEFAULT"),
        charset: opt(r, "CHARACTER_SET_NAME"),
        collation: opt(r, "COLLATION_NAME"),
        extra,
        generation_expression,
        generated_stored,
        invisible,
        comment: text(r, "COLUMN_COMMENT"),
    }
}

/// The partitioning clause of a `SHOW CREATE TABLE` text: from `PARTITION
/// BY` to the end (or the end of its version guard), whitespace-normalized.
pub fn partitioning_clause(create_sql: &str) -> Option<String> {
    let t = tokenize(create_sql).ok()?;
    let toks = t.all();
    let mut depth = 0i64;
    for (i, tok) in toks.iter().enumerate() {
        match tok.token {
            sqlparser::tokenizer::Token::LParen => depth += 1,
            sqlparser::tokenizer::Token::RParen => depth -= 1,
            _ => {}
        }
        if depth == 0 && tok.is_kw("PARTITION") && toks.get(i + 1).is_some_and(|n| n.is_kw("BY")) {
            let end = match tok.guard.and_then(|g| t.guards.get(g)) {
                Some(g) => g.content.end,
                None => create_sql.len(),
            };
            let s = create_sql.get(tok.span.start..end)?;
            return Some(s.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    None
}

async fn read_views(conn: &mut Conn, db: &str) -> Result<Vec<View>, SchemaError> {
    let recs = records(
        conn,
        &format!("reading views of {}", quote(db)),
        "SELECT * FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
        vec![db.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(recs.len());
    for r in &recs {
        let name = text(r, "TABLE_NAME");
        let create_sql = show_create(
            conn,
            &format!("SHOW CREATE VIEW {}.{}", quote(db), quote(&name)),
            "Create View",
        )
        .await?;
        out.push(View {
            name,
            definition: text(r, "VIEW_DEFINITION"),
            check_option: text(r, "CHECK_OPTION"),
            security_type: text(r, "SECURITY_TYPE"),
            definer: text(r, "DEFINER"),
            algorithm: text(r, "ALGORITHM"),
            create_sql,
        });
    }
    Ok(out)
}

async fn read_triggers(conn: &mut Conn, db: &str) -> Result<Vec<Trigger>, SchemaError> {
    let recs = records(
        conn,
        &format!("reading triggers of {}", quote(db)),
        "SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME",
        vec![db.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(recs.len());
    for r in &recs {
        let name = text(r, "TRIGGER_NAME");
        let create_sql = show_create(
            conn,
            &format!("SHOW CREATE TRIGGER {}.{}", quote(db), quote(&name)),
            "SQL Original Statement",
        )
        .await?;
        out.push(Trigger {
            name,
            table: text(r, "EVENT_OBJECT_TABLE"),
            timing: text(r, "ACTION_TIMING"),
            event: text(r, "EVENT_MANIPULATION"),
            action_order: number(r, "ACTION_ORDER").unwrap_or(0),
            body: text(r, "ACTION_STATEMENT"),
            definer: text(r, "DEFINER"),
            sql_mode: text(r, "SQL_MODE"),
            create_sql,
        });
    }
    Ok(out)
}

async fn read_routines(conn: &mut Conn, db: &str) -> Result<Vec<Routine>, SchemaError> {
    let recs = records(
        conn,
        &format!("reading routines of {}", quote(db)),
        "SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? \
         ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        vec![db.into()],
    )
    .await?;
    let precs = records(
        conn,
        &format!("reading routine parameters of {}", quote(db)),
        "SELECT * FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? \
         ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION",
        vec![db.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(recs.len());
    for r in &recs {
        let name = text(r, "ROUTINE_NAME");
        let kind = if text(r, "ROUTINE_TYPE") == "FUNCTION" {
            RoutineKind::Function
        } else {
            RoutineKind::Procedure
        };
        let mut params = Vec::new();
        let mut returns = None;
        for p in precs.iter().filter(|p| {
            text(p, "SPECIFIC_NAME") == name && text(p, "ROUTINE_TYPE") == kind.keyword()
        }) {
            let dtd = text(p, "DTD_IDENTIFIER");
            if number(p, "ORDINAL_POSITION") == Some(0) {
                returns = Some(dtd);
                continue;
            }
            let mode = opt(p, "PARAMETER_MODE")
                .map(|m| m + " ")
                .unwrap_or_default();
            params.push(format!("{mode}{} {dtd}", text(p, "PARAMETER_NAME")));
        }
        let (sql, col) = match kind {
            RoutineKind::Procedure => ("SHOW CREATE PROCEDURE", "Create Procedure"),
            RoutineKind::Function => ("SHOW CREATE FUNCTION", "Create Function"),
        };
        let create_sql =
            show_create(conn, &format!("{sql} {}.{}", quote(db), quote(&name)), col).await?;
        out.push(Routine {
            name,
            kind,
            params,
            returns,
            body: text(r, "ROUTINE_DEFINITION"),
            deterministic: text(r, "IS_DETERMINISTIC") == "YES",
            data_access: text(r, "SQL_DATA_ACCESS"),
            security_type: text(r, "SECURITY_TYPE"),
            definer: text(r, "DEFINER"),
            sql_mode: text(r, "SQL_MODE"),
            comment: text(r, "ROUTINE_COMMENT"),
            create_sql,
        });
    }
    Ok(out)
}

async fn read_events(conn: &mut Conn, db: &str) -> Result<Vec<Event>, SchemaError> {
    let recs = records(
        conn,
        &format!("reading events of {}", quote(db)),
        "SELECT * FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME",
        vec![db.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(recs.len());
    for r in &recs {
        let name = text(r, "EVENT_NAME");
        let create_sql = show_create(
            conn,
            &format!("SHOW CREATE EVENT {}.{}", quote(db), quote(&name)),
            "Create Event",
        )
        .await?;
        let interval = match (opt(r, "INTERVAL_VALUE"), opt(r, "INTERVAL_FIELD")) {
            (Some(v), Some(f)) => Some(format!("{v} {f}")),
            _ => None,
        };
        out.push(Event {
            name,
            body: text(r, "EVENT_DEFINITION"),
            event_type: text(r, "EVENT_TYPE"),
            execute_at: opt(r, "EXECUTE_AT"),
            interval,
            status: text(r, "STATUS"),
            on_completion: text(r, "ON_COMPLETION"),
            definer: text(r, "DEFINER"),
            sql_mode: text(r, "SQL_MODE"),
            comment: text(r, "EVENT_COMMENT"),
            create_sql,
        });
    }
    Ok(out)
}
