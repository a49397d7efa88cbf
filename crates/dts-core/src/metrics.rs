//! The Prometheus `/metrics` endpoint of a run, and the lag/failure alert.
//!
//! The endpoint is an HTTP server (axum on hyper) on the `[metrics] listen`
//! address: `GET /metrics` answers the OpenMetrics text exposition written
//! by `prometheus-client`, anything else 404. The alert runs `[alert]
//! command` (argv, no shell) with `DTS_ALERT` set to the message, and/or
//! POSTs the message as JSON to an `http://` or `https://` `[alert]
//! webhook` (reqwest with rustls; connect and request timeouts, three
//! tries), when the lag passes `lag_threshold_seconds` (once per crossing)
//! or the task fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
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

/// The content type of the exposition (OpenMetrics text, which Prometheus
/// reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value as the exposition writes it: backslash, double quote and
/// newline escaped (prometheus-client 0.23 writes label values as given).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics text of a run: each metric labelled with the task, the
/// counters named `..._total`, `dts_phase` with the phase as a label.
pub fn render(task: &str, c: &RunCounters) -> String {
    let mut r = Registry::with_labels(
        [(
            std::borrow::Cow::Borrowed("task"),
            std::borrow::Cow::Owned(label_value(task)),
        )]
        .into_iter(),
    );
    let mut counter = |name: &str, help: &str, value: u64| {
        let m = Counter::<u64>::default();
        m.inc_by(value);
        r.register(name, help, m);
    };
    counter(
        "dts_rows_copied",
        "Rows copied by the full copy in this run.",
        c.rows_copied,
    );
    counter(
        "dts_bytes_copied",
        "Bytes copied by the full copy in this run.",
        c.bytes_copied,
    );
    counter(
        "dts_rows_applied",
        "Row changes applied by incremental migration (since the task began).",
        c.rows_applied,
    );
    counter(
        "dts_transactions_applied",
        "Source transactions applied (since the task began).",
        c.transactions_applied,
    );
    counter(
        "dts_conflicts",
        "Row changes whose key conflicted (overwritten or skipped by policy).",
        c.conflicts,
    );
    counter("dts_retries", "Restarts after transient errors.", c.retries);
    counter("dts_errors", "Errors met (retried or not).", c.errors);
    counter(
        "dts_source_switches",
        "Times incremental migration moved to another source server (failovers).",
        c.source_switches,
    );
    let lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    lag.set(c.lag.map_or(f64::NAN, |l| l.as_secs_f64()));
    r.register(
        "dts_lag_seconds",
        "How far the target is behind the source (NaN before the first applied event).",
        lag,
    );
    if let Some(server) = &c.source_server {
        let info = Family::<Vec<(String, String)>, Gauge>::default();
        info.get_or_create(&vec![
            ("server".into(), label_value(server)),
            (
                "gtid".into(),
                label_value(c.gtid_state.as_deref().unwrap_or("")),
            ),
        ])
        .set(1);
        r.register(
            "dts_source_info",
            "The source server incremental migration reads from, and the GTID state of its \
             checkpoint.",
            info,
        );
    }
    let phase = Family::<Vec<(String, String)>, Gauge>::default();
    phase
        .get_or_create(&vec![("phase".into(), label_value(&c.phase))])
        .set(1);
    r.register("dts_phase", "The phase the task is in.", phase);
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut s, &r);
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
    use axum::http::{header, StatusCode};
    use axum::routing::get;
    let read = Arc::new(read);
    let listener = TcpListener::bind(addr).await?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let body = render(&task, &read());
                async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], body) }
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "only GET /metrics is served\n") });
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics endpoint stopped");
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
        if let Err(e) = post(url, &text, WEBHOOK_TRIES).await {
            tracing::warn!(error = %e, "the alert webhook failed");
        }
    }
}

/// How often a webhook post is tried.
const WEBHOOK_TRIES: u32 = 3;

/// Posts `{"text": text}` to `url`: 5 s to connect, 10 s for the whole
/// request, tried `tries` times (2 s, then 4 s apart) on a connection
/// error, a timeout or a 5xx answer; any other answer is final.
pub(crate) async fn post(url: &str, text: &str, tries: u32) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("dts/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot make the webhook client: {e}"))?;
    let body = serde_json::json!({ "text": text }).to_string();
    let mut last = String::new();
    for attempt in 0..tries.max(1) {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(2u64 << (attempt - 1).min(4))).await;
        }
        let r = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) if resp.status().is_server_error() => {
                last = format!("{url} answered {}", resp.status());
            }
            Ok(resp) => return Err(format!("{url} answered {}", resp.status())),
            // A URL reqwest cannot use (no scheme, an unknown one) is final.
            Err(e) if e.is_builder() => return Err(format!("{url}: {e}")),
            Err(e) => last = format!("{url}: {e}"),
        }
    }
    Err(format!("{last} (tried {} times)", tries.max(1)))
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

    #[test]
    fn render_shows_the_source_server_and_its_switches() {
        let c = RunCounters {
            phase: "incremental".into(),
            source_server: Some("mariadb server_id 2 at db2:3306".into()),
            gtid_state: Some("0-2-17".into()),
            source_switches: 1,
            ..RunCounters::default()
        };
        let text = render("shop", &c);
        assert!(
            text.contains("dts_source_switches_total{task=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "dts_source_info{task=\"shop\",server=\"mariadb server_id 2 at db2:3306\",gtid=\"0-2-17\"} 1\n"
            ),
            "{text}"
        );
        let none = render("shop", &RunCounters::default());
        assert!(!none.contains("dts_source_info{"), "{none}");
    }

    /// A local HTTP server that answers POSTs with the statuses given in
    /// turn (the last one for all later requests) and records the bodies.
    async fn webhook_server(statuses: Vec<u16>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use axum::http::StatusCode;
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let seen = seen.clone();
                move |body: String| {
                    let mut g = seen.lock().expect("lock");
                    g.push(body);
                    let status = statuses[(g.len() - 1).min(statuses.len() - 1)];
                    async move { StatusCode::from_u16(status).expect("status") }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook"), seen)
    }

    #[tokio::test]
    async fn the_webhook_receives_the_message_as_json() {
        let (url, seen) = webhook_server(vec![200]).await;
        let a = AlertOptions {
            lag_threshold_seconds: 0,
            command: None,
            webhook: Some(url),
        };
        alert(&a, "shop", "the lag is 9 s").await;
        let bodies = seen.lock().expect("lock").clone();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        let v: serde_json::Value = serde_json::from_str(&bodies[0]).expect("json");
        assert_eq!(v["text"], "dts task \"shop\": the lag is 9 s");
    }

    #[tokio::test]
    async fn the_webhook_is_tried_again_after_a_server_error_and_not_after_a_client_error() {
        let (url, seen) = webhook_server(vec![503, 200]).await;
        post(&url, "x", 3).await.expect("the second try succeeds");
        assert_eq!(seen.lock().expect("lock").len(), 2);

        let (url, seen) = webhook_server(vec![404]).await;
        let e = post(&url, "x", 3).await.expect_err("a 404 is final");
        assert!(e.contains("404"), "{e}");
        assert_eq!(seen.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_webhook_fails_after_its_tries_with_the_url() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let e = post(&url, "x", 1).await.expect_err("nothing listens");
        assert!(e.contains(&url), "{e}");
    }

    #[tokio::test]
    async fn an_https_webhook_speaks_tls() {
        use tokio::io::AsyncReadExt;
        // A plain TCP listener sees what the client sends first: for https,
        // a TLS handshake record (content type 22), not an HTTP request.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let first = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut b = [0u8; 3];
            s.read_exact(&mut b).await.expect("read");
            b
        });
        let e = post(&format!("https://{addr}/hook"), "x", 1)
            .await
            .expect_err("the listener never answers the handshake");
        assert!(e.contains("https://"), "{e}");
        let b = first.await.expect("join");
        assert_eq!(b[0], 22, "a TLS handshake record: {b:?}");
        assert_eq!(b[1], 3, "TLS major version 3: {b:?}");
    }

    #[tokio::test]
    async fn the_endpoint_answers_metrics_and_404_elsewhere() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let h = serve(addr, "t".into(), || RunCounters {
            phase: "full".into(),
            rows_copied: 42,
            ..RunCounters::default()
        })
        .await
        .expect("serve");
        let c = reqwest::Client::new();
        let r = c
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()[reqwest::header::CONTENT_TYPE],
            CONTENT_TYPE,
            "content type"
        );
        let body = r.text().await.expect("body");
        assert!(
            body.contains("dts_rows_copied_total{task=\"t\"} 42\n"),
            "{body}"
        );
        let r = c
            .get(format!("http://{addr}/other"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404);
        h.abort();
    }
}
