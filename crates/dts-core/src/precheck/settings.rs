//! Server settings: the pair's (`pair.sql_mode`, `pair.time_zone`,
//! `pair.lower_case_table_names`, `pair.explicit_defaults_for_timestamp`,
//! `pair.charset`) and the target's (`target.max_allowed_packet`,
//! `target.local_infile`, `target.read_only`).

use schema_diff::quote;
use schema_diff::translate::map_collation;

use crate::config::{MigrationType, TaskConfig};

use super::gather::Ctx;
use super::report::{fail, list, pass, warn, Check};

/// The `pair.*` settings: the same on both servers.
pub(super) fn settings_checks(ctx: &Ctx, out: &mut Vec<Check>) {
    let (s, t) = (&ctx.src, &ctx.tgt);
    let same = |id: &'static str, vars: &[&str], fix: String| -> Check {
        let diffs: Vec<String> = vars
            .iter()
            .filter(|v| s.has_var(v) && t.has_var(v))
            .filter(|v| !s.var(v).eq_ignore_ascii_case(t.var(v)))
            .map(|v| format!("{v}: source {:?}, target {:?}", s.var(v), t.var(v)))
            .collect();
        if diffs.is_empty() {
            pass(
                id,
                vars.iter()
                    .map(|v| format!("{v} {:?}", s.var(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " on both",
            )
        } else {
            warn(id, diffs.join("; "), fix)
        }
    };
    out.push(same(
        "pair.sql_mode",
        &["sql_mode"],
        format!(
            "SET GLOBAL sql_mode = '{}' on the target (and sql_mode in its option file), or \
             acknowledge pair.sql_mode (dts pins its own sessions' sql_mode either way)",
            s.var("sql_mode")
        ),
    ));
    let tz_diff = s.var("time_zone") != t.var("time_zone")
        || (s.var("time_zone").eq_ignore_ascii_case("SYSTEM")
            && s.var("system_time_zone") != t.var("system_time_zone"));
    if tz_diff {
        out.push(warn(
            "pair.time_zone",
            format!(
                "time_zone: source {:?} (system {:?}), target {:?} (system {:?})",
                s.var("time_zone"),
                s.var("system_time_zone"),
                t.var("time_zone"),
                t.var("system_time_zone")
            ),
            format!(
                "SET GLOBAL time_zone = '{}' on the target (and default_time_zone in its \
                 option file), or acknowledge pair.time_zone (TIMESTAMP values are copied \
                 exactly either way)",
                s.var("time_zone")
            ),
        ));
    } else {
        out.push(pass(
            "pair.time_zone",
            format!("time_zone {:?} on both", s.var("time_zone")),
        ));
    }
    // lower_case_table_names.
    let (sl, tl) = (
        s.num("lower_case_table_names").unwrap_or(0),
        t.num("lower_case_table_names").unwrap_or(0),
    );
    let mixed: Vec<String> = ctx
        .tables
        .iter()
        .filter(|x| {
            x.target_name != x.target_name.to_lowercase()
                || x.target_db != x.target_db.to_lowercase()
        })
        .map(|x| format!("{}.{}", quote(&x.target_db), quote(&x.target_name)))
        .collect();
    if tl != 0 && sl == 0 && !mixed.is_empty() {
        out.push(warn(
            "pair.lower_case_table_names",
            format!(
                "the target has lower_case_table_names = {tl}, the source {sl}; these names \
                 would be stored in lower case: {}",
                list(&mixed, 10)
            ),
            "set [migration] name_case = \"lower\" so the names are lower-cased explicitly, or \
             use a target initialised with lower_case_table_names = 0",
        ));
    } else if tl != sl && tl == 0 {
        out.push(warn(
            "pair.lower_case_table_names",
            format!("lower_case_table_names: source {sl}, target {tl}"),
            "applications that spell names in another case behave differently on the target; \
             initialise the target with the source's lower_case_table_names, or acknowledge \
             pair.lower_case_table_names",
        ));
    } else if tl != sl {
        out.push(pass(
            "pair.lower_case_table_names",
            format!(
                "lower_case_table_names: source {sl}, target {tl}; every target name is in \
                 lower case"
            ),
        ));
    } else {
        out.push(pass(
            "pair.lower_case_table_names",
            format!("lower_case_table_names {sl} on both"),
        ));
    }
    out.push(same(
        "pair.explicit_defaults_for_timestamp",
        &["explicit_defaults_for_timestamp"],
        format!(
            "SET GLOBAL explicit_defaults_for_timestamp = {} on the target (and in its option \
             file), or acknowledge pair.explicit_defaults_for_timestamp",
            s.var("explicit_defaults_for_timestamp")
        ),
    ));
    out.push(same(
        "pair.charset",
        &["character_set_server", "collation_server"],
        format!(
            "SET GLOBAL character_set_server = '{}', collation_server = '{}' on the target (and \
             in its option file), or acknowledge pair.charset (migrated objects keep their own \
             character sets)",
            s.var("character_set_server"),
            map_collation(s.var("collation_server"), &t.version)
                .unwrap_or_else(|| s.var("collation_server").to_string())
        ),
    ));
}

/// `target.max_allowed_packet`, `target.local_infile`, `target.read_only`.
pub(super) fn target_checks(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let tgt = &ctx.tgt;
    let full = task.migration.has(MigrationType::Full);

    // target.max_allowed_packet
    let packet = tgt.num("max_allowed_packet").unwrap_or(0);
    let biggest = ctx.tables.iter().max_by_key(|t| t.stats.largest_row);
    let need = biggest.map_or(0, |t| t.stats.largest_row) * 2 + (64 << 10);
    match biggest {
        Some(b) if packet < need && full => out.push(fail(
            "target.max_allowed_packet",
            format!(
                "the largest row's long values ({}.{}) take {} bytes; the target's \
                 max_allowed_packet is {packet}",
                quote(&b.db),
                quote(&b.name),
                b.stats.largest_row
            ),
            format!(
                "SET GLOBAL max_allowed_packet = {} on the target (and max_allowed_packet in \
                 its [mysqld] options), at least twice the largest row plus 64 KiB",
                need.next_power_of_two().max(1 << 20)
            ),
        )),
        _ => out.push(pass(
            "target.max_allowed_packet",
            format!(
                "max_allowed_packet {packet}; largest row's long values {} bytes",
                biggest.map_or(0, |t| t.stats.largest_row)
            ),
        )),
    }

    // target.local_infile
    if full && !tgt.on("local_infile") {
        out.push(fail(
            "target.local_infile",
            "local_infile is OFF on the target",
            "SET GLOBAL local_infile = ON on the target (and local_infile = ON in its [mysqld] \
             options)",
        ));
    } else {
        out.push(pass(
            "target.local_infile",
            format!("local_infile {}", tgt.var("local_infile")),
        ));
    }

    // target.read_only
    let ro: Vec<&str> = tgt
        .dialect()
        .read_only_variables()
        .iter()
        .copied()
        .filter(|v| tgt.on(v))
        .collect();
    if ro.is_empty() {
        out.push(pass("target.read_only", "the target is writable"));
    } else {
        out.push(fail(
            "target.read_only",
            format!("{} ON on the target", ro.join(", ")),
            ro.iter()
                .map(|v| format!("SET GLOBAL {v} = OFF;"))
                .collect::<Vec<_>>()
                .join(" ")
                + " on the target (innodb_read_only needs a restart without it)",
        ));
    }
}
