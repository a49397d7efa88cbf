//! `names.valid` and `names.collisions`: every target name (after renames
//! and the case policy) can be created, and no two objects share one.

use std::collections::BTreeMap;

use schema_diff::quote;

use crate::config::{NameCase, TaskConfig};

use super::gather::Ctx;
use super::report::{fail, list, pass, Check};

/// Why a name cannot be created on the target, if it cannot.
fn invalid_name(name: &str, is_db_or_table: bool) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    let chars = name.chars().count();
    if chars > 64 {
        return Some(format!("it is {chars} characters long (at most 64)"));
    }
    if name.chars().any(|c| c == '\0') {
        return Some("it contains a NUL character".into());
    }
    if name.chars().any(|c| u32::from(c) > 0xFFFF) {
        return Some("it contains a character outside the Basic Multilingual Plane".into());
    }
    if is_db_or_table && name.ends_with(' ') {
        return Some("it ends with a space".into());
    }
    None
}

/// `names.valid` and `names.collisions`.
pub(super) fn names_checks(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let names = task.name_map();
    let mut bad = Vec::new();
    for d in &ctx.schema.databases {
        let td = names.database(&d.name);
        if let Some(why) = invalid_name(&td, true) {
            bad.push(format!(
                "database {} (from {}): {why}",
                quote(&td),
                quote(&d.name)
            ));
        }
        for t in &d.tables {
            let tn = names.table(&d.name, &t.name);
            if let Some(why) = invalid_name(&tn, true) {
                bad.push(format!("table {}.{}: {why}", quote(&td), quote(&tn)));
            }
            for c in &t.columns {
                let cn = names.column(&d.name, &t.name, &c.name);
                if let Some(why) = invalid_name(&cn, false) {
                    bad.push(format!(
                        "column {} of {}.{}: {why}",
                        quote(&cn),
                        quote(&td),
                        quote(&tn)
                    ));
                }
            }
        }
        for v in &d.views {
            let vn = names.table(&d.name, &v.name);
            if let Some(why) = invalid_name(&vn, true) {
                bad.push(format!("view {}.{}: {why}", quote(&td), quote(&vn)));
            }
        }
    }
    out.push(if bad.is_empty() {
        pass("names.valid", "every target name can be created")
    } else {
        fail(
            "names.valid",
            list(&bad, 10),
            "rename them in the task file (target_database, target_name, rename_columns); a \
             database the target cannot name must be renamed or created by hand",
        )
    });

    let mut clashes = Vec::new();
    if let Err(e) = names.validate(&ctx.schema) {
        clashes.push(e.to_string());
    }
    // A target that folds names to lower case merges names differing only
    // in case.
    if ctx.tgt.num("lower_case_table_names").unwrap_or(0) != 0 {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for t in &ctx.tables {
            let key = format!(
                "{}.{}",
                t.target_db.to_lowercase(),
                t.target_name.to_lowercase()
            );
            let full = format!("{}.{}", quote(&t.db), quote(&t.name));
            if let Some(prev) = seen.insert(key.clone(), full.clone()) {
                clashes.push(format!(
                    "{prev} and {full} are one table on the target (lower_case_table_names = {})",
                    ctx.tgt.var("lower_case_table_names")
                ));
            }
        }
    }
    out.push(if clashes.is_empty() {
        pass(
            "names.collisions",
            format!(
                "no two objects share a target name (name_case = {:?})",
                match task.migration.name_case {
                    NameCase::Keep => "keep",
                    NameCase::Lower => "lower",
                    NameCase::Upper => "upper",
                }
            ),
        )
    } else {
        fail(
            "names.collisions",
            list(&clashes, 10),
            "rename one of each pair in the task file ([[objects.tables]] target_name), or use \
             [migration] name_case = \"keep\"",
        )
    });
}
