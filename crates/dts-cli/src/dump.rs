//! `dts binlog dump`: events as text (like `mariadb-binlog --verbose`) or as
//! JSON lines.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use binlog_reader::event::{RowChange, RowImage};
use binlog_reader::{ColumnInfo, Event, EventBody, FileReader, Value};

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
        let v = serde_json::json!({
            "pos": ev.pos,
            "end_pos": ev.end_pos,
            "type": ev.header.event_type.name(),
            "type_code": ev.header.event_type.0,
            "file": ev.file.as_deref(),
            "timestamp": ev.header.timestamp,
            "server_id": ev.header.server_id,
            "log_pos": ev.header.log_pos,
            "flags": ev.header.flags,
            "body": &ev.body,
        });
        line(out, format_args!("{v}"))
    } else {
        print_text(ev, out)
    }
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of a Unix timestamp, without a date library:
/// the civil-from-days algorithm (Howard Hinnant's).
fn utc(ts: u32) -> String {
    let secs = i64::from(ts);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn print_text(ev: &Event, out: &mut impl Write) -> anyhow::Result<()> {
    let h = &ev.header;
    line(out, format_args!("# at {}", ev.pos))?;
    line(
        out,
        format_args!(
            "#{} server id {}  end_log_pos {}  {}",
            utc(h.timestamp),
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
            format_args!("###   {name}={} /* {ty} */", render(v, col)),
        )?;
    }
    Ok(())
}

fn quoted(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Err(_) => format!("x'{}'", binlog_reader::types::hex(b)),
    }
}

fn render(v: &Value, col: Option<&ColumnInfo>) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::IntUnknownSign { raw, bytes } => {
            let bits = u32::from(*bytes) * 8;
            let signed = if bits >= 64 {
                *raw as i64
            } else if raw >> (bits - 1) & 1 == 1 {
                (*raw as i64) - (1i64 << bits)
            } else {
                *raw as i64
            };
            if signed < 0 {
                format!("{signed} ({raw})")
            } else {
                signed.to_string()
            }
        }
        Value::Float(f) => format!("{f:?}"),
        Value::Double(d) => format!("{d:?}"),
        Value::Decimal(s) => s.clone(),
        Value::Year(y) => y.to_string(),
        Value::Bit { value, width } => format!("b'{value:0w$b}'", w = usize::from(*width)),
        Value::Enum(i) => {
            let name = col
                .and_then(|c| c.enum_values.as_ref())
                .and_then(|v| v.get(usize::from(*i).wrapping_sub(1)));
            match name {
                Some(n) => quoted(n),
                None => i.to_string(),
            }
        }
        Value::Set(m) => match col.and_then(|c| c.set_values.as_ref()) {
            Some(names) => {
                let parts: Vec<&[u8]> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && m >> i & 1 == 1)
                    .map(|(_, n)| n.as_slice())
                    .collect();
                quoted(&parts.join(&b","[..]))
            }
            None => m.to_string(),
        },
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => {
            let frac = if *fsp == 0 {
                String::new()
            } else {
                format!(".{:06}", micros)[..=usize::from((*fsp).min(6))].to_string()
            };
            format!("'{}{frac}' /* UTC, epoch {seconds} */", utc(*seconds))
        }
        Value::Bytes(b) => quoted(b),
        Value::Json(t) => quoted(t.as_bytes()),
        Value::Geometry { srid, wkb } => {
            format!(
                "ST_GeomFromWKB(x'{}', {srid})",
                binlog_reader::types::hex(wkb)
            )
        }
        other => serde_json::to_value(other)
            .ok()
            .and_then(|j| j.get("value").cloned())
            .map(|j| match j {
                serde_json::Value::String(s) => format!("'{s}'"),
                other => other.to_string(),
            })
            .unwrap_or_default(),
    }
}
