//! `dts binlog dump`: events as text (like `mariadb-binlog --verbose`) or as
//! JSON lines.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use binlog_reader::event::{RowChange, RowImage};
use binlog_reader::{render, ColumnInfo, Event, EventBody, FileReader};

use crate::{line, DumpArgs};

pub(crate) fn run(args: &DumpArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.source.is_some() || args.config.is_some() {
        return crate::dump_stream::run(args, out);
    }
    let mut reader = FileReader::new(&args.files).follow_rotations(args.follow);
    while let Some(ev) = reader.next_event().context("reading the binlog")? {
        print_event(&ev, args.json, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_event(ev: &Event, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if json {
        line(out, format_args!("{}", render::event_json(ev)))
    } else {
        print_text(ev, out)
    }
}

fn print_text(ev: &Event, out: &mut impl Write) -> anyhow::Result<()> {
    let h = &ev.header;
    line(out, format_args!("# at {}", ev.pos))?;
    line(
        out,
        format_args!(
            "#{} server id {}  end_log_pos {}  {}",
            render::utc_datetime(h.timestamp),
            h.server_id,
            h.log_pos,
            h.event_type.name()
        ),
    )?;
    print_body(&ev.body, out)
}

fn print_body(body: &EventBody, out: &mut impl Write) -> anyhow::Result<()> {
    match body {
        EventBody::FormatDescription(f) => line(
            out,
            format_args!(
                "#\tbinlog v {}, server v {}, checksum {:?}",
                f.binlog_version, f.server_version, f.checksum_alg
            ),
        ),
        EventBody::Rotate(r) => line(
            out,
            format_args!(
                "#\t{}rotate to {}  pos: {}",
                if r.fake { "fake " } else { "" },
                r.next_file,
                r.position
            ),
        ),
        EventBody::Query(q) => {
            line(
                out,
                format_args!(
                    "#\tthread_id={} exec_time={} error_code={}{}",
                    q.thread_id,
                    q.exec_time,
                    q.error_code,
                    if q.schema.is_empty() {
                        String::new()
                    } else {
                        format!(" use `{}`", q.schema.replace('`', "``"))
                    }
                ),
            )?;
            line(out, format_args!("{}\n/*!*/;", q.query_text()))
        }
        EventBody::Xid(x) => line(out, format_args!("#\tXid = {}\nCOMMIT/*!*/;", x.xid)),
        EventBody::TableMap(t) => line(
            out,
            format_args!(
                "#\tTable_map: `{}`.`{}` mapped to number {}",
                t.schema, t.table, t.table_id
            ),
        ),
        EventBody::Rows(r) => {
            let name = format!(
                "`{}`.`{}`",
                r.table.schema.replace('`', "``"),
                r.table.table.replace('`', "``")
            );
            line(
                out,
                format_args!("#\ttable_id: {} flags: {}", r.table_id, flags(r.flags)),
            )?;
            for change in &r.rows {
                match change {
                    RowChange::Insert { after } => {
                        line(out, format_args!("### INSERT INTO {name}\n### SET"))?;
                        image(after, &r.table.columns, out)?;
                    }
                    RowChange::Update { before, after } => {
                        line(out, format_args!("### UPDATE {name}\n### WHERE"))?;
                        image(before, &r.table.columns, out)?;
                        line(out, format_args!("### SET"))?;
                        image(after, &r.table.columns, out)?;
                    }
                    RowChange::Delete { before } => {
                        line(out, format_args!("### DELETE FROM {name}\n### WHERE"))?;
                        image(before, &r.table.columns, out)?;
                    }
                }
            }
            Ok(())
        }
        EventBody::RowsQuery(q) => line(
            out,
            format_args!("#\tQuery: {}", String::from_utf8_lossy(&q.query)),
        ),
        EventBody::Gtid(g) => line(
            out,
            format_args!(
                "#\tGTID {}{}{}:{} last_committed={:?} sequence_number={:?}",
                if g.anonymous { "(anonymous) " } else { "" },
                g.sid,
                g.tag
                    .as_deref()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default(),
                g.gno,
                g.last_committed,
                g.sequence_number
            ),
        ),
        EventBody::PreviousGtids(p) => line(out, format_args!("#\t{}", p.gtid_set)),
        EventBody::TransactionPayload(p) => {
            line(
                out,
                format_args!(
                    "#\tpayload: compression {} size {} uncompressed {} ({} events)",
                    p.compression_type,
                    p.payload_size,
                    p.uncompressed_size,
                    p.events.len()
                ),
            )?;
            for e in &p.events {
                line(out, format_args!("#\t-- {}", e.header.event_type.name()))?;
                print_body(&e.body, out)?;
            }
            Ok(())
        }
        EventBody::XaPrepare(x) => line(
            out,
            format_args!(
                "#\tXA PREPARE one_phase={} format_id={}",
                x.one_phase, x.format_id
            ),
        ),
        EventBody::Heartbeat(h) => line(
            out,
            format_args!("#\theartbeat {}:{}", h.log_file, h.position),
        ),
        EventBody::IntVar(v) => line(out, format_args!("#\tINTVAR {} = {}", v.var_type, v.value)),
        EventBody::Rand(r) => line(out, format_args!("#\tRAND {} {}", r.seed1, r.seed2)),
        EventBody::UserVar(u) => line(out, format_args!("#\tUSER_VAR @`{}`", u.name)),
        EventBody::Incident(i) => line(
            out,
            format_args!("#\tINCIDENT {}: {}", i.incident, i.message),
        ),
        EventBody::Stop => line(out, format_args!("#\tStop")),
        EventBody::MariadbGtid(g) => line(
            out,
            format_args!(
                "#\tGTID {}{}{}",
                g.gtid,
                g.commit_id.map(|c| format!(" cid={c}")).unwrap_or_default(),
                if g.flags2 & 1 != 0 {
                    " (standalone)"
                } else {
                    " trans"
                }
            ),
        ),
        EventBody::MariadbGtidList(l) => {
            let list: Vec<String> = l.gtids.iter().map(ToString::to_string).collect();
            line(out, format_args!("#\tGtid list [{}]", list.join(",")))
        }
        EventBody::MariadbBinlogCheckpoint(c) => {
            line(out, format_args!("#\tBinlog checkpoint {}", c.file))
        }
        EventBody::MariadbStartEncryption {
            scheme,
            key_version,
        } => line(
            out,
            format_args!("#\tStart encryption: scheme {scheme}, key version {key_version}"),
        ),
        EventBody::Other { body } => line(out, format_args!("#\t({} bytes)", body.len())),
        _ => line(out, format_args!("#\t(not printed)")),
    }
}

fn flags(f: u16) -> String {
    let mut v = Vec::new();
    if f & 1 != 0 {
        v.push("STMT_END_F");
    }
    if f & 2 != 0 {
        v.push("NO_FOREIGN_KEY_CHECKS_F");
    }
    if f & 4 != 0 {
        v.push("RELAXED_UNIQUE_CHECKS_F");
    }
    if f & 8 != 0 {
        v.push("COMPLETE_ROWS_F");
    }
    if v.is_empty() {
        "0".into()
    } else {
        v.join("|")
    }
}

fn image(img: &RowImage, cols: &[ColumnInfo], out: &mut impl Write) -> anyhow::Result<()> {
    for (i, v) in img.iter().enumerate() {
        let Some(v) = v else { continue };
        let col = cols.get(i);
        let name = col
            .and_then(|c| c.name.clone())
            .map(|n| format!("`{}`", n.replace('`', "``")))
            .unwrap_or_else(|| format!("@{}", i + 1));
        let ty = col.map(|c| c.real_type().name()).unwrap_or("?");
        line(
            out,
            format_args!("###   {name}={} /* {ty} */", render::text(v, col)),
        )?;
    }
    Ok(())
}
