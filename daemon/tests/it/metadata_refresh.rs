//! IdP metadata from a URL: loaded at start, refreshed, and the last good copy kept when a
//! fetch fails (certificate rollover without a restart, an IdP outage without losing logins).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use idp_sim::{IdpKeys, Simulator, Tenant};
use warp::Filter;

use super::support::{TempDir, tenant_yaml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_last_good_metadata_and_a_rollover_is_picked_up() {
    let tenant = Tenant::from_yaml(&tenant_yaml("http://sp.test", 2)).unwrap();
    let keys = IdpKeys::generate(2).unwrap();
    let one_cert = Simulator::new(
        Tenant {
            certificates: 1,
            ..tenant.clone()
        },
        IdpKeys::from_keys(vec![keys.key(0).clone()]).unwrap(),
    )
    .unwrap();
    let two_certs = Simulator::new(tenant, keys.clone()).unwrap();

    // What the fake metadata endpoint serves: Some(xml), or None for an error.
    let served = Arc::new(Mutex::new(Some(
        one_cert.metadata("http://idp.test").unwrap(),
    )));
    let (addr, server) = serve_metadata(served.clone()).await;
    let dir = TempDir::new("metadata");
    let path = write_config(&dir, addr, "");
    let config = provisiond::config::load(&path).unwrap();
    let providers = provisiond::saml::Providers::from_config(&config);
    let sp = providers.get("acme").unwrap();
    assert!(
        sp.idp().is_none(),
        "nothing is loaded before the first fetch"
    );
    let client = reqwest::Client::new();

    providers.load_remote_metadata(&client).await;
    let first = sp.idp().expect("loaded");
    assert_eq!(first.certificates, vec![keys.key(0).cert_der().to_vec()]);

    *served.lock().unwrap() = None;
    providers.load_remote_metadata(&client).await;
    assert_eq!(
        sp.idp(),
        Some(first.clone()),
        "a failed fetch keeps the last good copy"
    );

    *served.lock().unwrap() = Some("<not metadata".into());
    providers.load_remote_metadata(&client).await;
    assert_eq!(
        sp.idp(),
        Some(first),
        "unparseable metadata keeps the last good copy"
    );

    *served.lock().unwrap() = Some(two_certs.metadata("http://idp.test").unwrap());
    providers.load_remote_metadata(&client).await;
    assert_eq!(
        sp.idp().unwrap().certificates.len(),
        2,
        "the rollover certificate is added"
    );

    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_missing_at_start_is_fetched_soon_after_the_idp_answers() {
    let tenant = Tenant::from_yaml(&tenant_yaml("http://sp.test", 1)).unwrap();
    let simulator = Simulator::new(tenant, IdpKeys::generate(1).unwrap()).unwrap();
    let served = Arc::new(Mutex::new(None));
    let (addr, server) = serve_metadata(served.clone()).await;
    let dir = TempDir::new("metadata-late");
    // Refreshed hourly: only the retry after a failure can load it within the test.
    let path = write_config(&dir, addr, "      metadata_refresh_minutes: 60\n");
    let config = provisiond::config::load(&path).unwrap();
    let providers = provisiond::saml::Providers::from_config(&config);
    let sp = providers.get("acme").unwrap();
    let client = reqwest::Client::new();
    providers.load_remote_metadata(&client).await;
    assert!(sp.idp().is_none(), "the IdP did not answer at start");
    providers.spawn_refresh(client);

    *served.lock().unwrap() = Some(simulator.metadata("http://idp.test").unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while sp.idp().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "metadata still missing 20 s after the IdP answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.abort();
}

/// A metadata endpoint on 127.0.0.1 answering what `served` holds, or 503 when it is `None`.
async fn serve_metadata(
    served: Arc<Mutex<Option<String>>>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let route = warp::path!("metadata.xml").map(move || {
        let (status, body) = match served.lock().unwrap().clone() {
            Some(xml) => (200, xml),
            None => (503, String::new()),
        };
        warp::http::Response::builder()
            .status(status)
            .body(body)
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(warp::serve(route).incoming(listener).run()),
    )
}

/// A config whose one connection reads its metadata from `addr`, with `more` SAML settings.
fn write_config(dir: &TempDir, addr: SocketAddr, more: &str) -> std::path::PathBuf {
    let path = dir.0.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server: {{ session_key: 'refresh-test-key-0123456789abcdef' }}\n\
             connections:\n  - name: acme\n    domains: [acme.example]\n    saml:\n      \
             metadata_url: http://{addr}/metadata.xml\n{more}"
        ),
    )
    .unwrap();
    path
}

/// A metadata endpoint that sends without end, chunk after chunk and no length announced, is
/// cut off at the bound instead of read into memory whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_sent_without_end_is_cut_off_at_the_bound() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0usize;
        }
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        let mut sent = 0;
        // 64 MiB at most: far past the bound, which the client must stop at long before.
        while sent < 1024 && socket.write_all(chunk.as_bytes()).await.is_ok() {
            sent += 1;
        }
        sent
    });

    let url = url::Url::parse(&format!("http://{addr}/metadata.xml")).unwrap();
    let err = provisiond::saml::fetch_metadata(&reqwest::Client::new(), &url, None)
        .await
        .unwrap_err();
    assert!(err.contains("larger than 4 MiB"), "{err}");
    let chunks_sent = server.await.unwrap();
    assert!(
        chunks_sent < 1024,
        "the client read everything ({chunks_sent} chunks)"
    );
}

/// A redirect may not take a metadata fetch to cleartext on another machine; one that stays
/// on this machine is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_not_fetched_through_a_redirect_to_cleartext_elsewhere() {
    let tenant = Tenant::from_yaml(&tenant_yaml("http://sp.test", 1)).unwrap();
    let simulator = Simulator::new(tenant, IdpKeys::generate(1).unwrap()).unwrap();
    let xml = simulator.metadata("http://idp.test").unwrap();
    let redirect = |to: &'static str| {
        warp::http::Response::builder()
            .status(302)
            .header("location", to)
            .body(String::new())
            .unwrap()
    };
    let routes = warp::path!("metadata.xml")
        .map(move || warp::http::Response::new(xml.clone()))
        .or(warp::path!("moved").map(move || redirect("/metadata.xml")))
        .or(warp::path!("away").map(move || redirect("http://idp.invalid/metadata.xml")));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(warp::serve(routes).incoming(listener).run());
    let client = provisiond::saml::metadata_client().unwrap();
    let fetch = |path: &str| {
        let url = url::Url::parse(&format!("http://{addr}/{path}")).unwrap();
        let client = client.clone();
        async move { provisiond::saml::fetch_metadata(&client, &url, None).await }
    };

    let followed = fetch("moved").await.unwrap();
    let refused = fetch("away").await.unwrap_err();

    assert_eq!(followed.entity_id, simulator.entity_id());
    assert!(refused.contains("may not be fetched from"), "{refused}");
    server.abort();
}
