//! The selected objects: `source.objects` (they exist and the selection
//! fits them), `source.primary_keys`, `source.foreign_keys`,
//! `source.triggers`, `source.events`, `source.engines`,
//! `source.partitioning`, `source.generated_columns`.

use schema_diff::quote;

use crate::config::{MigrationType, TaskConfig, TriggerMethod};

use super::gather::Ctx;
use super::report::{fail, list, pass, warn, Check};

/// `source.objects`: every selected database, table, column and filter
/// exists and is valid on the source.
pub(super) fn selection(ctx: &Ctx, out: &mut Vec<Check>) {
    if ctx.selection_errors.is_empty() {
        let n = ctx.tables.len();
        out.push(pass(
            "source.objects",
            format!(
                "{n} table(s) selected in {} database(s)",
                ctx.schema.databases.len()
            ),
        ));
    } else {
        out.push(fail(
            "source.objects",
            list(&ctx.selection_errors, 10),
            "correct [[objects]] in the task file (names are case-sensitive), or create the \
             objects on the source",
        ));
    }
}

/// `source.primary_keys`: tables without a key the copy and the apply can
/// address a row by.
pub(super) fn primary_keys(ctx: &Ctx, out: &mut Vec<Check>) {
    let keyless: Vec<String> = ctx
        .tables
        .iter()
        .filter_map(|t| {
            t.keyless_rows.map(|n| {
                format!(
                    "{}.{} ({n} rows): copied in one pass inside the snapshot and loaded in one \
                     transaction; changes applied by matching the whole row",
                    quote(&t.db),
                    quote(&t.name)
                )
            })
        })
        .collect();
    if keyless.is_empty() {
        out.push(pass(
            "source.primary_keys",
            "every selected table has a primary key or a NOT NULL unique key",
        ));
    } else {
        let first = ctx.tables.iter().find(|t| t.keyless_rows.is_some());
        out.push(warn(
            "source.primary_keys",
            format!(
                "no primary key or NOT NULL unique key: {}",
                list(&keyless, 10)
            ),
            format!(
                "add a primary key on the source, e.g. ALTER TABLE {} ADD COLUMN dts_id BIGINT \
                 UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY; or acknowledge \
                 source.primary_keys",
                first.map_or(String::new(), |t| format!(
                    "{}.{}",
                    quote(&t.db),
                    quote(&t.name)
                ))
            ),
        ));
    }
}

/// The foreign keys, triggers, events, engines, partitioning and generated
/// columns of the selected objects.
pub(super) fn object_checks(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let mut cascades = Vec::new();
    let mut engines_other = Vec::new();
    let mut engines_missing = Vec::new();
    let mut partitioned = Vec::new();
    let mut generated = Vec::new();
    let mut first_engine = None;
    for d in &ctx.schema.databases {
        for t in &d.tables {
            let tq = format!("{}.{}", quote(&d.name), quote(&t.name));
            for fk in &t.foreign_keys {
                let acts: Vec<String> = [("DELETE", &fk.on_delete), ("UPDATE", &fk.on_update)]
                    .iter()
                    .filter(|(_, a)| matches!(a.as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT"))
                    .map(|(w, a)| format!("ON {w} {a}"))
                    .collect();
                if !acts.is_empty() {
                    cascades.push(format!("{tq} {} {}", quote(&fk.name), acts.join(" ")));
                }
            }
            if t.table_type == "SEQUENCE" {
                continue;
            }
            if let Some(e) = &t.engine {
                let up = e.to_ascii_uppercase();
                if up != "INNODB" {
                    engines_other.push(format!("{tq} ({e})"));
                    first_engine.get_or_insert(tq.clone());
                }
                if !ctx.tgt.engines.contains(&up) {
                    engines_missing.push(format!("{tq} ({e})"));
                }
            }
            if t.partitioning.is_some() {
                partitioned.push(tq.clone());
            }
            for c in &t.columns {
                if c.generation_expression.is_some() {
                    generated.push(format!(
                        "{tq}.{} ({})",
                        quote(&c.name),
                        if c.generated_stored {
                            "stored"
                        } else {
                            "virtual"
                        }
                    ));
                }
            }
        }
    }
    out.push(if cascades.is_empty() {
        pass(
            "source.foreign_keys",
            "no foreign key with cascading actions",
        )
    } else {
        warn(
            "source.foreign_keys",
            format!("cascading foreign keys: {}", list(&cascades, 10)),
            "keep these foreign keys on the target (the schema migration creates them after the \
             copy) so that cascades run there, and acknowledge source.foreign_keys",
        )
    });

    // Triggers on the selected tables (looked up in the whole database).
    let mut triggers = Vec::new();
    for d in &ctx.whole.databases {
        for tr in &d.triggers {
            if task.selected(&d.name, &tr.table).is_some() {
                triggers.push(format!(
                    "{} on {}.{}",
                    quote(&tr.name),
                    quote(&d.name),
                    quote(&tr.table)
                ));
            }
        }
    }
    out.push(if triggers.is_empty() {
        pass("source.triggers", "no trigger on the selected tables")
    } else if incremental && task.migration.trigger_method == TriggerMethod::WithSchema {
        fail(
            "source.triggers",
            format!(
                "triggers {} would be created with the schema and fire again on every \
                 replicated row",
                list(&triggers, 10)
            ),
            "set [migration] trigger_method = \"at-cutover\"",
        )
    } else {
        pass(
            "source.triggers",
            format!(
                "triggers {}: created {}",
                list(&triggers, 10),
                if task.migration.trigger_method == TriggerMethod::AtCutover {
                    "at cut-over"
                } else {
                    "with the schema (no incremental migration)"
                }
            ),
        )
    });

    let events: Vec<String> = ctx
        .schema
        .databases
        .iter()
        .flat_map(|d| {
            d.events
                .iter()
                .map(move |e| format!("{}.{}", quote(&d.name), quote(&e.name)))
        })
        .collect();
    out.push(if events.is_empty() {
        pass("source.events", "no event in the selected databases")
    } else {
        warn(
            "source.events",
            format!(
                "events {} are created disabled at cut-over (event_scheduler on the source: {})",
                list(&events, 10),
                ctx.src.var("event_scheduler")
            ),
            "after cut-over, disable them on the source (ALTER EVENT ... DISABLE) and enable \
             them on the target (ALTER EVENT ... ENABLE); then acknowledge source.events",
        )
    });

    out.push(if !engines_missing.is_empty() {
        fail(
            "source.engines",
            format!("engines the target lacks: {}", list(&engines_missing, 10)),
            format!(
                "ALTER TABLE {} ENGINE = InnoDB on the source, or install the engine on the \
                 target (e.g. INSTALL SONAME 'ha_archive')",
                first_engine.clone().unwrap_or_default()
            ),
        )
    } else if !engines_other.is_empty() {
        warn(
            "source.engines",
            format!(
                "not InnoDB (not read from a consistent snapshot; writes to them during the \
                 copy may be missed or seen twice): {}",
                list(&engines_other, 10)
            ),
            format!(
                "ALTER TABLE {} ENGINE = InnoDB on the source, or stop writes to these tables \
                 during the full copy and acknowledge source.engines",
                first_engine.unwrap_or_default()
            ),
        )
    } else {
        pass("source.engines", "every selected table is InnoDB")
    });

    let have_partitioning = ctx.tgt.partitioning;
    out.push(if partitioned.is_empty() {
        pass("source.partitioning", "no partitioned table")
    } else if !have_partitioning {
        fail(
            "source.partitioning",
            format!(
                "partitioned tables {} and the target has no partitioning",
                list(&partitioned, 10)
            ),
            "enable the partition plugin on the target, or remove partitioning on the source \
             (ALTER TABLE ... REMOVE PARTITIONING)",
        )
    } else {
        warn(
            "source.partitioning",
            format!(
                "partitioned tables {} are created with the same partitioning; partition \
                 maintenance (adding, dropping partitions) must continue on the target",
                list(&partitioned, 10)
            ),
            "move partition maintenance jobs to the target at cut-over, then acknowledge \
             source.partitioning; or remove partitioning (ALTER TABLE ... REMOVE PARTITIONING)",
        )
    });

    out.push(if generated.is_empty() {
        pass("source.generated_columns", "no generated column")
    } else {
        warn(
            "source.generated_columns",
            format!(
                "generated columns {} are computed by the target, not copied",
                list(&generated, 10)
            ),
            "check that their expressions give the same results on the target's version (see \
             pair.versions), then acknowledge source.generated_columns",
        )
    });
}
