//! A fresh PostgreSQL database per test, on the server `VOUCH_TEST_PG` names
//! (`.ci/run` starts one with `.ci/postgres` and sets `VOUCH_REQUIRE_PG=1`, so that
//! there a missing server fails the test; elsewhere the PostgreSQL tests say they are
//! skipped and pass).

use std::sync::atomic::{AtomicU32, Ordering};

/// The URL of a new, empty database named after `test`, or `None` (said on stderr)
/// when no server is configured.
pub fn database(test: &str) -> Option<String> {
    let Some(server) = std::env::var_os("VOUCH_TEST_PG") else {
        let msg =
            format!("{test}: skipped: set VOUCH_TEST_PG to a PostgreSQL URL (see .ci/postgres)");
        assert!(std::env::var_os("VOUCH_REQUIRE_PG").is_none(), "{msg}");
        eprintln!("{msg}");
        return None;
    };
    let server = server.into_string().expect("VOUCH_TEST_PG is UTF-8");
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "vouch_{}_{}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to VOUCH_TEST_PG {server}: {e}"));
        tokio::spawn(conn);
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&sql).await.unwrap();
        }
    });
    let mut url = url::Url::parse(&server).expect("VOUCH_TEST_PG is a URL");
    url.set_path(&name);
    Some(url.to_string())
}
