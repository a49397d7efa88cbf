//! `source.connect`, `target.connect`, `source.tls`, `target.tls`: whether
//! the task reaches each server, and whether the connection is encrypted as
//! the task file asks.

use crate::config::{server_offers_no_tls, Endpoint, TlsMode};
use crate::secret::scrub;

use super::gather::Reached;
use super::report::{fail, pass, warn, Check};

/// Judges how connecting to one side went (`side` is `source` or `target`).
pub(super) fn connection_checks(
    ep: &Endpoint,
    side: &'static str,
    reached: &Reached,
    checks: &mut Vec<Check>,
) {
    let (connect_id, tls_id) = if side == "source" {
        ("source.connect", "source.tls")
    } else {
        ("target.connect", "target.tls")
    };
    let secrets: Vec<_> = ep.password.iter().collect();
    let user = ep.user().unwrap_or("(none)");
    let (fell_back, cipher) = match reached {
        Reached::Yes { fell_back, cipher } => (*fell_back, cipher),
        Reached::No(e) => {
            let text = scrub(&e.to_string(), &secrets);
            if ep.tls != TlsMode::Disabled && (server_offers_no_tls(e) || is_tls_error(e)) {
                checks.push(fail(
                    tls_id,
                    format!("tls = {:?}: {text}", tls_name(ep.tls)),
                    if server_offers_no_tls(e) {
                        "configure TLS on the server (ssl_cert, ssl_key and ssl_ca in its \
                         [mysqld] options, then restart it), or lower ["
                            .to_string()
                            + side
                            + "] tls in the task file"
                    } else {
                        format!(
                            "give the CA that signed the server's certificate in [{side}] tls_ca \
                             (for verify-identity, the certificate must name the host {})",
                            ep.host()
                        )
                    },
                ));
            } else {
                checks.push(fail(
                    connect_id,
                    format!("connecting to {} as {user} failed: {text}", ep.url),
                    format!(
                        "check [{side}] url (host, port, user) and the password ({}); the \
                         account must be allowed to connect from this host: CREATE USER \
                         'user'@'this-host' IDENTIFIED BY '...'",
                        ep.password_source
                    ),
                ));
            }
            return;
        }
    };
    checks.push(pass(
        connect_id,
        format!("connected to {} as {user}", ep.url),
    ));
    let loopback = matches!(ep.host(), "127.0.0.1" | "::1" | "localhost");
    let found = match (cipher.is_empty(), fell_back) {
        (false, _) => format!("encrypted ({cipher}), tls = {:?}", tls_name(ep.tls)),
        (true, true) => "not encrypted: the server offers no TLS (tls = \"preferred\")".to_string(),
        (true, false) => format!("not encrypted (tls = {:?})", tls_name(ep.tls)),
    };
    if cipher.is_empty() && !loopback {
        checks.push(warn(
            tls_id,
            found + &format!(" to {}, which is not a loopback address", ep.host()),
            format!(
                "configure TLS on the server and set [{side}] tls = \"verify-ca\" with tls_ca, \
                 or acknowledge {tls_id} for a trusted network"
            ),
        ));
    } else {
        checks.push(pass(tls_id, found));
    }
}

fn is_tls_error(e: &mysql_async::Error) -> bool {
    let text = format!("{e:?} {e}").to_ascii_lowercase();
    text.contains("tls") || text.contains("ssl") || text.contains("certificate")
}

fn tls_name(m: TlsMode) -> &'static str {
    match m {
        TlsMode::Disabled => "disabled",
        TlsMode::Preferred => "preferred",
        TlsMode::Required => "required",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyIdentity => "verify-identity",
    }
}
