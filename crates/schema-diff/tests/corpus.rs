//! The CREATE TABLE statements of MariaDB's own test suite
//! (`/usr/share/mysql/mysql-test/**/*.test`, package mariadb-test-data):
//! each one the source accepts is extracted, planned, created on an empty
//! target, extracted again and compared. At least 95% must come back with
//! an equal model.
//!
//! Sample: every CREATE TABLE statement without mysqltest variables in the
//! whole suite (about 68,000, files in path order), of which `SAMPLE`
//! evenly spaced ones are run, to keep the run near a minute;
//! `DTS_CORPUS_SAMPLE=N` runs N of them (0: all). The figure and the failure
//! classes are printed.

mod common;

use std::collections::BTreeMap;

use dts_test_support::{connect, quote_ident, Server};
use mysql_async::prelude::*;
use schema_diff::compare::{compare, expected_target, CompareOptions, DiffKind};
use schema_diff::extract::{extract_schema, server_version};
use schema_diff::names::NameMap;
use schema_diff::plan::plan;
use schema_diff::translate::{DefinerPolicy, TranslateOptions};

const DIR: &str = "/usr/share/mysql/mysql-test";
const SAMPLE: usize = 600;

/// Splits a mysqltest file into statements: `--` lines are commands, `#`
/// lines comments, `delimiter X` changes the delimiter.
fn statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut delim = ";".to_string();
    let mut cur = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if cur.is_empty()
            && (trimmed.starts_with("--") || trimmed.starts_with('#') || trimmed.is_empty())
        {
            continue;
        }
        if cur.is_empty() && trimmed.to_ascii_lowercase().starts_with("delimiter ") {
            delim = trimmed[10..].trim().to_string();
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if trimmed.ends_with(&delim) {
            let s = cur.trim_end();
            out.push(s[..s.len() - delim.len()].trim().to_string());
            cur.clear();
        }
    }
    out
}

#[tokio::test]
async fn mariadb_test_suite_tables_round_trip() {
    let dir = std::path::Path::new(DIR);
    assert!(
        dir.is_dir(),
        "{DIR} is missing: install MariaDB's test data with scripts/ensure-mariadb \
         (apt-get install mariadb-test-data)"
    );
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "test") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut all = Vec::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for s in statements(&text) {
            let lower = s.to_ascii_lowercase();
            if lower.starts_with("create table") && !s.contains('$') {
                all.push(s);
            }
        }
    }
    let want = std::env::var("DTS_CORPUS_SAMPLE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(SAMPLE);
    let want = if want == 0 {
        all.len()
    } else {
        want.min(all.len())
    };
    let sample: Vec<String> = (0..want)
        .map(|i| all[i * all.len() / want.max(1)].clone())
        .collect();
    println!(
        "corpus: {} CREATE TABLE statements in {} files; running {} evenly spaced",
        all.len(),
        files.len(),
        sample.len()
    );
    let db = format!("dtst_corpus_{}", std::process::id());
    let qdb = quote_ident(&db);
    let mut src = connect(Server::Source, None).await;
    let mut tgt = connect(Server::Target, None).await;
    let target = server_version(&mut tgt).await.unwrap();
    let opts = TranslateOptions {
        target,
        names: NameMap::default(),
        definer: DefinerPolicy::Invoker,
    };
    let (mut refused, mut accepted, mut equal) = (0usize, 0usize, 0usize);
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut fail = |class: String, example: String| {
        let e = failures.entry(class).or_insert((0, example));
        e.0 += 1;
    };
    for s in &sample {
        src.query_drop(format!(
            "DROP DATABASE IF EXISTS {qdb}; CREATE DATABASE {qdb}; USE {qdb}"
        ))
        .await
        .unwrap();
        if src.query_drop(s).await.is_err() {
            refused += 1;
            continue;
        }
        let source = match extract_schema(&mut src, std::slice::from_ref(&db)).await {
            Ok(s) => s,
            Err(e) => {
                accepted += 1;
                fail(
                    "extraction error on the source".into(),
                    format!("{e}\n    statement: {s}"),
                );
                continue;
            }
        };
        if source.databases.first().is_none_or(|d| d.tables.is_empty()) {
            // A TEMPORARY table, or a sequence only: nothing to migrate.
            refused += 1;
            continue;
        }
        accepted += 1;
        let p = match plan(&source, &opts) {
            Ok(p) => p,
            Err(e) => {
                fail("plan error".into(), format!("{e}"));
                continue;
            }
        };
        tgt.query_drop(format!("DROP DATABASE IF EXISTS {qdb}"))
            .await
            .unwrap();
        if let Err(e) = common::run_plan(&p).await {
            let code = e
                .split("ERROR ")
                .nth(1)
                .and_then(|x| x.split(' ').next())
                .unwrap_or("?")
                .to_string();
            fail(format!("target refused the DDL (error {code})"), e);
            continue;
        }
        let got = match extract_schema(&mut tgt, std::slice::from_ref(&db)).await {
            Ok(g) => g,
            Err(e) => {
                fail("extraction error on the target".into(), format!("{e}"));
                continue;
            }
        };
        let expected = expected_target(&source, &opts).unwrap();
        let diffs = compare(&expected, &got, &CompareOptions::default());
        match diffs.first() {
            None => equal += 1,
            Some(d) => {
                let class = match &d.kind {
                    DiffKind::Different { field, .. } => format!("model differs in {field}"),
                    DiffKind::Missing => "object missing on the target".into(),
                    DiffKind::Extra => "extra object on the target".into(),
                };
                fail(class, format!("{d}\n    statement: {s}"));
            }
        }
    }
    src.query_drop(format!("DROP DATABASE IF EXISTS {qdb}"))
        .await
        .ok();
    tgt.query_drop(format!("DROP DATABASE IF EXISTS {qdb}"))
        .await
        .ok();
    let pct = if accepted == 0 {
        0.0
    } else {
        100.0 * equal as f64 / accepted as f64
    };
    println!(
        "corpus: {} statements sampled, {refused} refused by the source (or temporary), \
         {accepted} accepted, {equal} equal after the round trip: {pct:.1}%",
        sample.len()
    );
    for (class, (n, example)) in &failures {
        println!(
            "  {n:4} {class}\n       e.g. {}",
            example.chars().take(400).collect::<String>()
        );
    }
    assert!(accepted > 100, "too few statements accepted: {accepted}");
    assert!(
        pct >= 95.0,
        "only {pct:.1}% of the accepted CREATE TABLE statements round-trip"
    );
}
