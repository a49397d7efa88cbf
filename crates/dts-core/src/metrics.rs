//! The Prometheus `/metrics` endpoint of a run, and the lag/failure alert.
//!
//! The endpoint is a tiny HTTP/1.1 server on the `[metrics] listen`
//! address: `GET /metrics` answers the text exposition format, anything else
//! 404. The alert runs `[alert] command` (argv, no shell) with `DTS_ALERT`
//! set to the message, and/or POSTs the message as JSON to an `http://`
//! `[alert] webhook`, when the lag passes `lag_threshold_seconds` (once per
//! crossing) or the task fails.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::config::AlertOptions;

/// What the endpoint shows of a run, read at each request. A plain
/// snapshot, so that this module knows nothing of how a task runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunCounters {
    /// The phase the task is in.
    pub phase: String,
    /// Rows copied by the full copy in this run.
    pub rows_copied: u64,
    /// Bytes copied by the full copy in this run.
    pub bytes_copied: u64,
    /// Row changes applied by incremental migration.
    pub rows_applied: u64,
    /// Source transactions applied.
    pub transactions_applied: u64,
    /// How far the target is behind the source (`None` before the first
    /// applied event).
    pub lag: Option<Duration>,
    /// Row changes whose key conflicted (overwritten or skipped by policy).
    pub conflicts: u64,
    /// Restarts after transient errors.
    pub retries: u64,
    /// Errors met (retried or not).
    pub errors: u64,
    /// The source server the apply reads from (its identity and address).
    pub source_server: Option<String>,
    /// The GTID state of the apply's checkpoint, as text.
    pub gtid_state: Option<String>,
    /// Times the apply moved to another source server (failovers).
    pub source_switches: u64,
}

/// The metrics text of a run.
pub fn render(task: &str, c: &RunCounters) -> String {
    let phase = &c.phase;
    let t = task.replace('\\', "\\\\").replace('"', "\\\"");
    let mut s = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        s.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{task=\"{t}\"}} {value}\n"
        ));
    };
    metric(
        "dts_rows_copied_total",
        "counter",
        "Rows copied by the full copy in this run.",
        c.rows_copied.to_string(),
    );
    metric(
        "dts_bytes_copied_total",
        "counter",
        "Bytes copied by the full copy in this run.",
        c.bytes_copied.to_string(),
    );
    metric(
        "dts_rows_applied_total",
        "counter",
        "Row changes applied by incremental migration (since the task began).",
        c.rows_applied.to_string(),
    );
    metric(
        "dts_transactions_applied_total",
        "counter",
        "Source transactions applied (since the task began).",
        c.transactions_applied.to_string(),
    );
    metric(
        "dts_lag_seconds",
        "gauge",
        "How far the target is behind the source (NaN before the first applied event).",
        c.lag
            .map(|l| format!("{:.3}", l.as_secs_f64()))
            .unwrap_or_else(|| "NaN".into()),
    );
    metric(
        "dts_conflicts_total",
        "counter",
        "Row changes whose key conflicted (overwritten or skipped by policy).",
        c.conflicts.to_string(),
    );
    metric(
        "dts_retries_total",
        "counter",
        "Restarts after transient errors.",
        c.retries.to_string(),
    );
    metric(
        "dts_errors_total",
        "counter",
        "Errors met (retried or not).",
        c.errors.to_string(),
    );
    metric(
        "dts_source_switches_total",
        "counter",
        "Times incremental migration moved to another source server (failovers).",
        c.source_switches.to_string(),
    );
    if let Some(server) = &c.source_server {
        let esc = |v: &str| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        s.push_str(&format!(
            "# HELP dts_source_info The source server incremental migration reads from, and the GTID state of its checkpoint.\n# TYPE dts_source_info gauge\ndts_source_info{{task=\"{t}\",server=\"{}\",gtid=\"{}\"}} 1\n",
            esc(server),
            esc(c.gtid_state.as_deref().unwrap_or(""))
        ));
    }
    s.push_str(&format!(
        "# HELP dts_phase The phase the task is in.\n# TYPE dts_phase gauge\ndts_phase{{task=\"{t}\",phase=\"{phase}\"}} 1\n"
    ));
    s
}

/// Serves `/metrics` on `addr` until the returned task is aborted; each
/// request reads the run's counters through `read`.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn serve<F>(
    addr: SocketAddr,
    task: String,
    read: F,
) -> std::io::Result<tokio::task::JoinHandle<()>>
where
    F: Fn() -> RunCounters + Send + Sync + 'static,
{
    let read = std::sync::Arc::new(read);
    let listener = TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let (task, read) = (task.clone(), read.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n =
                    match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                        Ok(Ok(n)) => n,
                        _ => return,
                    };
                let req = String::from_utf8_lossy(&buf[..n]);
                let ok = req.starts_with("GET /metrics ") || req.starts_with("GET /metrics?");
                let (status, body) = if ok {
                    ("200 OK", render(&task, &read()))
                } else {
                    ("404 Not Found", "only GET /metrics is served\n".to_string())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    }))
}

/// Sends an alert: runs the command and posts to the webhook, as
/// configured. Failures to alert are logged, never fatal.
pub async fn alert(a: &AlertOptions, task: &str, message: &str) {
    let text = format!("dts task {task:?}: {message}");
    if let Some(argv) = a.command.as_ref().filter(|v| !v.is_empty()) {
        let r = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .env("DTS_ALERT", &text)
            .env("DTS_TASK", task)
            .status()
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "the alert command could not run");
        }
    }
    if let Some(url) = &a.webhook {
        if let Err(e) = post(url, &text).await {
            tracing::warn!(error = %e, "the alert webhook failed");
        }
    }
}

async fn post(url: &str, text: &str) -> std::io::Result<()> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        std::io::Error::other("only http:// webhooks are supported; put a relay in front of https")
    })?;
    let (hostport, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let body = serde_json::json!({ "text": text }).to_string();
    let mut s = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(hostport),
    )
    .await
    .map_err(|_| std::io::Error::other("connecting timed out"))??;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut sink)).await;
    Ok(())
}

/// Watches the lag, as `lag` reads it: alerts once each time it passes the
/// threshold.
pub fn watch_lag<F>(a: AlertOptions, task: String, lag: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Option<Duration> + Send + 'static,
{
    tokio::spawn(async move {
        if a.command.is_none() && a.webhook.is_none() {
            return;
        }
        let mut over = false;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let lag = lag().map(|l| l.as_secs());
            let now_over = lag.is_some_and(|l| l > a.lag_threshold_seconds);
            if now_over && !over {
                alert(
                    &a,
                    &task,
                    &format!(
                        "the lag is {} s, over the threshold of {} s",
                        lag.unwrap_or(0),
                        a.lag_threshold_seconds
                    ),
                )
                .await;
            }
            over = now_over;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_the_task_and_phase_and_shows_an_unknown_lag_as_nan() {
        let c = RunCounters {
            phase: "incremental".into(),
            rows_copied: 7,
            conflicts: 2,
            ..RunCounters::default()
        };
        let text = render("shop \"eu\"", &c);
        assert!(
            text.contains("dts_rows_copied_total{task=\"shop \\\"eu\\\"\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("dts_conflicts_total{task=\"shop \\\"eu\\\"\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("dts_lag_seconds{task=\"shop \\\"eu\\\"\"} NaN\n"),
            "{text}"
        );
        assert!(
            text.contains("dts_phase{task=\"shop \\\"eu\\\"\",phase=\"incremental\"} 1\n"),
            "{text}"
        );
    }
}
