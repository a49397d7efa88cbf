//! One server of the task: its URL, password and TLS mode, and the
//! connection options made from them.

use std::path::PathBuf;
use std::time::Duration;

use mysql_async::{Conn, Opts};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// TLS on a connection (design rule 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it (certificate not checked), else plain.
    #[default]
    Preferred,
    /// TLS or no connection (certificate not checked).
    Required,
    /// TLS with the server's certificate signed by `tls_ca`.
    VerifyCa,
    /// As `verify-ca`, and the certificate names the host connected to.
    VerifyIdentity,
}

/// Where a password came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password is sent.
    None,
    /// It was in the URL (and was taken out of it).
    Url,
    /// From this environment variable.
    Env(String),
    /// From this file.
    File(PathBuf),
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::None => f.write_str("none"),
            PasswordSource::Url => f.write_str("url"),
            PasswordSource::Env(v) => write!(f, "env {v}"),
            PasswordSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

impl Serialize for PasswordSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One server of the task. Shown (`dts config show`) as the file writes
/// it: `url` is a list when there are failover candidates.
#[derive(Clone, Debug, Serialize)]
#[serde(into = "EndpointShown")]
pub struct Endpoint {
    /// The URL without any password.
    pub url: String,
    /// `[source] url` given as a list: the candidates after the first, in
    /// order (the failover, catalogue S4), with the same password and TLS.
    pub failover_urls: Vec<String>,
    /// Where the password comes from.
    pub password_source: PasswordSource,
    /// The password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// TLS mode.
    pub tls: TlsMode,
    /// The CA certificate (PEM) for `verify-ca` and `verify-identity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// The metadata schema (on the target: task state and checkpoints).
    pub meta_schema: String,
    /// `[source] binlog_archive`: a directory of binlog files the source
    /// purged (a backup's archived binlogs), read when the task resumes
    /// from a file the source no longer has (catalogue S1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binlog_archive: Option<PathBuf>,
    #[serde(skip)]
    pub(super) opts: Opts,
    #[serde(skip)]
    pub(super) failover_opts: Vec<Opts>,
}

/// `url`: one, or the list of candidates.
#[derive(Serialize)]
#[serde(untagged)]
enum UrlShown {
    One(String),
    Many(Vec<String>),
}

/// [`Endpoint`] as the task file writes it.
#[derive(Serialize)]
struct EndpointShown {
    url: UrlShown,
    password_source: PasswordSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Secret>,
    tls: TlsMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_ca: Option<PathBuf>,
    meta_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    binlog_archive: Option<PathBuf>,
}

impl From<Endpoint> for EndpointShown {
    fn from(e: Endpoint) -> Self {
        let url = if e.failover_urls.is_empty() {
            UrlShown::One(e.url)
        } else {
            UrlShown::Many(std::iter::once(e.url).chain(e.failover_urls).collect())
        };
        EndpointShown {
            url,
            password_source: e.password_source,
            password: e.password,
            tls: e.tls,
            tls_ca: e.tls_ca,
            meta_schema: e.meta_schema,
            binlog_archive: e.binlog_archive,
        }
    }
}

/// How long one connection attempt may take before it counts as failed (a
/// server that does not answer must not hold a task or a precheck forever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection made by [`Endpoint::connect`].
pub struct Connected {
    /// The connection.
    pub conn: Conn,
    /// The options it was made with, for more connections to the same
    /// server (the copy's pools, the binlog reader).
    pub opts: Opts,
    /// Whether `tls = "preferred"` fell back to a plain connection because
    /// the server offers no TLS.
    pub tls_fell_back: bool,
}

/// Whether a connection failed because the server offers no TLS at all (as
/// opposed to a TLS handshake or certificate that failed).
pub fn server_offers_no_tls(e: &mysql_async::Error) -> bool {
    matches!(
        e,
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
    )
}

impl Endpoint {
    /// Connects as the endpoint's TLS mode says. This is the one place that
    /// decides about TLS: `disabled` connects plain; `required`,
    /// `verify-ca` and `verify-identity` connect with TLS or not at all;
    /// `preferred` asks for TLS and falls back to a plain connection only
    /// when the server offers no TLS (a failed handshake or any other error
    /// is returned, never retried without TLS). Each attempt may take up to
    /// 15 seconds.
    ///
    /// # Errors
    ///
    /// The driver's error of the last attempt (it may quote the password:
    /// scrub it before it is shown).
    pub async fn connect(&self) -> Result<Connected, mysql_async::Error> {
        let (opts, tls_fell_back, result) = self.attempt().await;
        result.map(|conn| Connected {
            conn,
            opts,
            tls_fell_back,
        })
    }

    /// The options for this server's connections, with TLS decided as
    /// [`Endpoint::connect`] decides it. Only `preferred` needs a connection
    /// to learn whether the server offers TLS (it is closed at once); when
    /// that connection fails for another reason, the options of the attempt
    /// are returned, so that the caller's own connection reports the error.
    pub async fn connect_opts(&self) -> Opts {
        if self.tls != TlsMode::Preferred {
            return self.first_opts();
        }
        let (opts, _, result) = self.attempt().await;
        if let Ok(c) = result {
            c.disconnect().await.ok();
        }
        opts
    }

    /// [`Endpoint::connect_opts`] of each failover candidate
    /// (`failover_urls`), in order.
    pub async fn failover_connect_opts(&self) -> Vec<Opts> {
        let mut out = Vec::new();
        for o in &self.failover_opts {
            let one = Endpoint {
                opts: o.clone(),
                failover_opts: Vec::new(),
                failover_urls: Vec::new(),
                ..self.clone()
            };
            out.push(one.connect_opts().await);
        }
        out
    }

    /// One connection under the TLS policy: the options of the last attempt,
    /// whether it fell back to plain, and its outcome.
    async fn attempt(&self) -> (Opts, bool, Result<Conn, mysql_async::Error>) {
        let first = self.first_opts();
        match connect_once(first.clone()).await {
            Err(e) if self.tls == TlsMode::Preferred && server_offers_no_tls(&e) => {
                let plain = self.plain_opts();
                let result = connect_once(plain.clone()).await;
                (plain, true, result)
            }
            result => (first, false, result),
        }
    }

    /// The options of the first attempt: plain for `disabled`, else TLS.
    fn first_opts(&self) -> Opts {
        match self.tls {
            TlsMode::Disabled => self.plain_opts(),
            _ => self.tls_opts(),
        }
    }

    /// Connection options with the password and TLS settings. For
    /// `preferred`, these ask for TLS without checking the certificate.
    fn tls_opts(&self) -> Opts {
        let mut b = mysql_async::OptsBuilder::from_opts(self.opts.clone())
            .pass(self.password.as_ref().map(|p| p.expose().to_string()));
        let ssl = mysql_async::SslOpts::default();
        b = match self.tls {
            TlsMode::Disabled => b.ssl_opts(None),
            TlsMode::Preferred | TlsMode::Required => b.ssl_opts(Some(
                ssl.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            )),
            TlsMode::VerifyCa | TlsMode::VerifyIdentity => {
                let roots = self.tls_ca.iter().map(|p| p.clone().into()).collect();
                b.ssl_opts(Some(
                    ssl.with_root_certs(roots)
                        .with_disable_built_in_roots(true)
                        .with_danger_skip_domain_validation(self.tls == TlsMode::VerifyCa),
                ))
            }
        };
        b.into()
    }

    /// Connection options without TLS (for `disabled`, and for `preferred`
    /// against a server that offers none).
    fn plain_opts(&self) -> Opts {
        mysql_async::OptsBuilder::from_opts(self.tls_opts())
            .ssl_opts(None)
            .into()
    }

    /// The user name, if the URL has one.
    pub fn user(&self) -> Option<&str> {
        self.opts.user()
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.opts.ip_or_hostname()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.opts.tcp_port()
    }
}

/// One connection attempt, bounded by [`CONNECT_TIMEOUT`].
async fn connect_once(opts: Opts) -> Result<Conn, mysql_async::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Ok(r) => r,
        Err(_) => Err(mysql_async::Error::Other(
            "no answer within 15 seconds".to_string().into(),
        )),
    }
}
