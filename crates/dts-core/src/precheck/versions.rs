//! `pair.distinct`, `pair.versions`, `target.features`: two different
//! servers, of versions dts supports, and a target that has every
//! collation and construct the selected objects use.

use std::collections::BTreeSet;

use schema_diff::translate::{collation_kept, map_collation, TranslateOptions};
use schema_diff::ServerVersion;

use crate::config::TaskConfig;

use super::facts::ServerFacts;
use super::gather::Ctx;
use super::report::{fail, list, pass, warn, Check};

/// `pair.distinct`: the source and the target are not one server.
pub(super) fn distinct(src: &ServerFacts, tgt: &ServerFacts, out: &mut Vec<Check>) {
    if src.identity() == tgt.identity() {
        out.push(fail(
            "pair.distinct",
            format!("source and target are the same server ({})", src.identity()),
            "point [target] url at another server",
        ));
    } else {
        out.push(pass(
            "pair.distinct",
            format!("source: {}; target: {}", src.identity(), tgt.identity()),
        ));
    }
}

/// `pair.versions`.
pub(super) fn versions(s: &ServerVersion, t: &ServerVersion) -> Check {
    let supported = |v: &ServerVersion| {
        if v.is_mariadb() {
            v.at_least(10, 3)
        } else {
            v.at_least(5, 7)
        }
    };
    let found = format!("source {s}, target {t}");
    if !supported(s) || !supported(t) {
        return fail(
            "pair.versions",
            found,
            "use MySQL 5.7 or later or MariaDB 10.3 or later on both sides",
        );
    }
    if s.flavor != t.flavor {
        return warn(
            "pair.versions",
            found
                + ": another flavour; types, collations and syntax are mapped (see \
             target.features and `dts schema plan`)",
            "review `dts schema plan` output, then acknowledge pair.versions",
        );
    }
    if (t.major, t.minor) < (s.major, s.minor) {
        return warn(
            "pair.versions",
            found + ": the target is older than the source",
            "use a target of the source's version or later, or review `dts schema plan` and \
             acknowledge pair.versions",
        );
    }
    pass("pair.versions", found)
}

/// `target.features`.
pub(super) fn target_features(task: &TaskConfig, ctx: &Ctx) -> Check {
    let tgt = &ctx.tgt;
    let mut missing = Vec::new();
    let mut used = BTreeSet::new();
    for d in &ctx.schema.databases {
        used.insert(d.collation.clone());
        for t in &d.tables {
            used.extend(t.collation.clone());
            for c in &t.columns {
                used.extend(c.collation.clone());
            }
        }
    }
    for c in used.iter().filter(|c| !c.is_empty()) {
        let mapped = map_collation(c, &tgt.version).unwrap_or_else(|| c.clone());
        if !tgt.collations.contains(&mapped.to_ascii_lowercase()) {
            missing.push(format!(
                "collation {c}{} is not on the target",
                if collation_kept(c, &tgt.version) {
                    String::new()
                } else {
                    format!(" (mapped to {mapped})")
                }
            ));
        }
    }
    let opts = TranslateOptions {
        target: tgt.version.clone(),
        names: task.name_map(),
        definer: task.migration.definer_policy(),
    };
    let mut notes = 0;
    match schema_diff::plan::plan(&ctx.schema, &opts) {
        Ok(p) => notes = p.warnings.len(),
        Err(e) => missing.push(e.to_string()),
    }
    if missing.is_empty() {
        pass(
            "target.features",
            format!(
                "every collation and construct in use exists on the target ({} translation \
                 note(s): see `dts schema plan`)",
                notes
            ),
        )
    } else {
        fail(
            "target.features",
            list(&missing, 10),
            "change the objects on the source to use what the target has (e.g. ALTER TABLE ... \
             CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci), or use a target \
             version that has it",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{ctx, facts, status, task};
    use super::super::objects::object_checks;
    use super::*;
    use schema_diff::model::{Column, Database, Schema, Table};

    use crate::precheck::Status;

    #[test]
    fn version_pairs() {
        let v = |s: &str, t: &str| {
            versions(
                &ServerVersion::parse(s).unwrap(),
                &ServerVersion::parse(t).unwrap(),
            )
            .status
        };
        assert_eq!(v("10.11.6-MariaDB", "11.4.2-MariaDB"), Status::Pass);
        assert_eq!(v("8.0.36", "8.4.0"), Status::Pass);
        assert_eq!(v("11.4.2-MariaDB", "10.11.6-MariaDB"), Status::Warning);
        assert_eq!(v("8.0.36", "10.11.6-MariaDB"), Status::Warning);
        assert_eq!(v("5.6.51", "8.0.36"), Status::Failure);
    }

    fn one_table(collation: &str, engine: &str) -> Schema {
        Schema {
            server: None,
            databases: vec![Database {
                name: "d".into(),
                charset: "utf8mb4".into(),
                collation: "utf8mb4_general_ci".into(),
                create_sql: "CREATE DATABASE `d`".into(),
                tables: vec![Table {
                    name: "t".into(),
                    table_type: "BASE TABLE".into(),
                    engine: Some(engine.into()),
                    collation: Some(collation.into()),
                    columns: vec![Column {
                        name: "c".into(),
                        column_type: "varchar(10)".into(),
                        collation: Some(collation.into()),
                        ..Column::default()
                    }],
                    create_sql: format!(
                        "CREATE TABLE `t` (\n  `c` varchar(10) COLLATE {collation}\n) ENGINE={engine}"
                    ),
                    ..Table::default()
                }],
                ..Database::default()
            }],
        }
    }

    #[test]
    fn target_lacks_a_collation_or_an_engine() {
        let src = facts("8.0.36", &[]);
        let tgt = facts("10.6.1-MariaDB", &[]);
        // utf8mb4_0900_ai_ci (NO PAD) maps to utf8mb4_unicode_520_nopad_ci
        // on MariaDB 10.6, which this target does not have.
        let c = ctx(
            src.clone(),
            tgt.clone(),
            one_table("utf8mb4_0900_ai_ci", "InnoDB"),
        );
        let chk = target_features(&task(), &c);
        assert_eq!(chk.status, Status::Failure, "{chk:?}");
        assert!(
            chk.found.contains("utf8mb4_unicode_520_nopad_ci"),
            "{chk:?}"
        );
        let c = ctx(
            src.clone(),
            tgt.clone(),
            one_table("utf8mb4_general_ci", "InnoDB"),
        );
        assert_eq!(target_features(&task(), &c).status, Status::Pass);
        // An engine the target lacks.
        let c = ctx(src, tgt, one_table("utf8mb4_general_ci", "ARCHIVE"));
        let mut out = vec![];
        object_checks(&task(), &c, &mut out);
        assert_eq!(status(&out, "source.engines"), Status::Failure);
    }
}
