//! `target.conflicts`: selected objects that already exist on the target
//! (with schema migration), or target tables missing or holding rows
//! (without it).

use schema_diff::model::ObjectKind;
use schema_diff::quote;

use crate::config::{ConflictMode, TaskConfig};

use super::gather::Ctx;
use super::report::{fail, list, pass, warn, Check};

/// `target.conflicts`.
pub(super) fn conflicts(task: &TaskConfig, ctx: &Ctx, schema_phase: bool) -> Check {
    let fold = ctx.tgt.num("lower_case_table_names").unwrap_or(0) != 0;
    let exists = |kind: ObjectKind, db: &str, name: &str| {
        ctx.target_objects.iter().any(|(k, d, n)| {
            let same_kind = *k == kind
                || matches!(
                    (k, kind),
                    (
                        ObjectKind::Table | ObjectKind::View,
                        ObjectKind::Table | ObjectKind::View
                    )
                );
            let eq = |a: &str, b: &str| {
                if fold {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            same_kind && eq(d, db) && eq(n, name)
        })
    };
    let mut found = Vec::new();
    let mut drops = Vec::new();
    if schema_phase {
        if let Ok(exp) = &ctx.expected {
            for d in &exp.databases {
                let objs = d
                    .tables
                    .iter()
                    .map(|t| (ObjectKind::Table, &t.name))
                    .chain(d.views.iter().map(|v| (ObjectKind::View, &v.name)))
                    .chain(d.routines.iter().map(|r| {
                        (
                            if r.kind == schema_diff::model::RoutineKind::Function {
                                ObjectKind::Function
                            } else {
                                ObjectKind::Procedure
                            },
                            &r.name,
                        )
                    }))
                    .chain(d.triggers.iter().map(|t| (ObjectKind::Trigger, &t.name)))
                    .chain(d.events.iter().map(|e| (ObjectKind::Event, &e.name)));
                for (kind, name) in objs {
                    let routine_or_trigger = matches!(
                        kind,
                        ObjectKind::Procedure
                            | ObjectKind::Function
                            | ObjectKind::Trigger
                            | ObjectKind::Event
                    );
                    let hit = if routine_or_trigger {
                        ctx.target_objects.iter().any(|(k, dd, n)| {
                            *k == kind
                                && dd.eq_ignore_ascii_case(&d.name)
                                && n.eq_ignore_ascii_case(name)
                        })
                    } else {
                        exists(kind, &d.name, name)
                    };
                    if hit {
                        found.push(format!("{kind} {}.{}", quote(&d.name), quote(name)));
                        let kw = match kind {
                            ObjectKind::View => "VIEW",
                            ObjectKind::Procedure => "PROCEDURE",
                            ObjectKind::Function => "FUNCTION",
                            ObjectKind::Trigger => "TRIGGER",
                            ObjectKind::Event => "EVENT",
                            _ => "TABLE",
                        };
                        drops.push(format!("DROP {kw} {}.{};", quote(&d.name), quote(name)));
                    }
                }
            }
        }
    } else {
        // Without schema migration the tables must exist; rows already in
        // them are conflicts.
        let mut absent = Vec::new();
        for t in &ctx.tables {
            if !exists(ObjectKind::Table, &t.target_db, &t.target_name) {
                absent.push(format!("{}.{}", quote(&t.target_db), quote(&t.target_name)));
            } else if ctx.target_nonempty.iter().any(|(d, n)| {
                (if fold {
                    d.eq_ignore_ascii_case(&t.target_db)
                } else {
                    *d == t.target_db
                }) && (if fold {
                    n.eq_ignore_ascii_case(&t.target_name)
                } else {
                    *n == t.target_name
                })
            }) {
                found.push(format!(
                    "table {}.{} already holds rows",
                    quote(&t.target_db),
                    quote(&t.target_name)
                ));
                drops.push(format!(
                    "TRUNCATE TABLE {}.{};",
                    quote(&t.target_db),
                    quote(&t.target_name)
                ));
            }
        }
        if !absent.is_empty() {
            return fail(
                "target.conflicts",
                format!(
                    "without schema migration the target tables must exist; missing: {}",
                    list(&absent, 10)
                ),
                "add \"schema\" to [migration] types, or create the tables on the target \
                 (`dts schema plan` prints their DDL)",
            );
        }
    }
    if let Err(e) = &ctx.expected {
        return fail(
            "target.conflicts",
            format!("the target names cannot be computed: {e}"),
            "fix the object that cannot be read (see the message), then run the precheck again",
        );
    }
    if found.is_empty() {
        return pass(
            "target.conflicts",
            "no selected object exists on the target yet",
        );
    }
    let found = format!("already on the target: {}", list(&found, 10));
    match task.migration.conflict_mode {
        ConflictMode::PrecheckError => fail(
            "target.conflicts",
            found,
            format!(
                "drop them on the target ({}), rename the objects in [[objects]], or set \
                 [migration] conflict_mode = \"ignore\" to keep them",
                list(&drops, 5)
            ),
        ),
        ConflictMode::Ignore => warn(
            "target.conflicts",
            found + " (conflict_mode = \"ignore\": they are kept; rows follow the row conflict policies)",
            format!(
                "drop them on the target ({}), or acknowledge target.conflicts",
                list(&drops, 5)
            ),
        ),
    }
}
