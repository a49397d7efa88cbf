//! The test proxy really cuts connections, twice.

use dts_test_support::proxy::Proxy;
use dts_test_support::{opts, Server};
use mysql_async::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_cuts_open_connections_and_heals() {
    let port = opts(Server::Target, None).tcp_port();
    let proxy = Proxy::start(port).await;
    let url = format!("mysql://root@127.0.0.1:{}?prefer_socket=false", proxy.port);
    for round in 0..2 {
        let mut c = mysql_async::Conn::from_url(url.as_str())
            .await
            .expect("through the proxy");
        let one: Option<u8> = c.query_first("SELECT 1").await.expect("query");
        assert_eq!(one, Some(1));
        proxy.cut();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            c.query_first::<u8, _>("SELECT 1").await.is_err(),
            "round {round}: cut"
        );
        assert!(
            mysql_async::Conn::from_url(url.as_str()).await.is_err(),
            "round {round}: refused"
        );
        proxy.heal();
    }
}
