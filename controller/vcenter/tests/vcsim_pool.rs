//! The pool against vcsim: a wrong password is tried once per backoff however many callers ask (no account
//! lockout), a new credentials version is tried at once, an unreachable vCenter does not hold up another one,
//! and the TLS settings are part of the connection identity.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reprotect_facts::vcenter::{ObserveRequest, VcenterError};
use reprotect_vcenter::{ConnectionConfig, PoolOptions, VcenterPool};
use reprotect_vcsim_support::{TestCa, Vcsim};
use tokio::net::{TcpListener, TcpStream};

/// A TCP forwarder in front of vcsim that counts connections: every failed connect builds a fresh HTTP client,
/// so this counts, from outside the crate, how many times the pool tried to reach vCenter.
async fn counting_proxy(target: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), count)
}

/// A server that accepts TCP connections and never answers (a vCenter that hangs in the TLS handshake).
async fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr.to_string()
}

fn options(backoff: Duration) -> PoolOptions {
    PoolOptions { login_backoff_initial: backoff, login_backoff_max: backoff * 4, ..common::fast_options() }
}

/// vcsim's certificate names 127.0.0.1, so the proxied address still verifies with vcsim's CA.
fn via(sim: &Vcsim, server: &str, password: &str, version: &str) -> ConnectionConfig {
    ConnectionConfig { server: server.into(), password: password.into(), credentials_version: version.into(), ..common::config(sim) }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_concurrent_callers_with_a_wrong_password_send_one_login_and_a_new_secret_is_tried_at_once() {
    let sim = Vcsim::start().unwrap();
    let (server, connections) = counting_proxy(sim.server.clone()).await;
    let pool = Arc::new(VcenterPool::new(options(Duration::from_secs(3))));
    let bad = via(&sim, &server, "wrong-password", "secret@1");

    let calls = (0..10).map(|_| {
        let (pool, bad) = (pool.clone(), bad.clone());
        tokio::spawn(async move {
            let vc = pool.connect(bad).await?;
            vc.observe(&ObserveRequest::default()).await
        })
    });
    for r in futures::future::join_all(calls).await {
        assert!(matches!(r.unwrap(), Err(VcenterError::InvalidLogin { .. })));
    }
    assert_eq!(pool.login_attempts(), 1, "one Login for ten callers");
    // One HTTP client (it may open a second TCP connection); before the fix every caller built its own.
    let opened = connections.load(Ordering::SeqCst);
    assert!(opened <= 2, "one client for ten callers, got {opened} connections");

    // Within the backoff nothing is sent.
    for _ in 0..5 {
        assert!(matches!(pool.connect(bad.clone()).await, Err(VcenterError::InvalidLogin { .. })));
    }
    assert_eq!((pool.login_attempts(), connections.load(Ordering::SeqCst)), (1, opened));

    // After the backoff, one retry.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert!(matches!(pool.connect(bad.clone()).await, Err(VcenterError::InvalidLogin { .. })));
    assert!(matches!(pool.connect(bad.clone()).await, Err(VcenterError::InvalidLogin { .. })));
    assert_eq!(pool.login_attempts(), 2, "exactly one retry after the backoff");

    // A corrected Secret (new credentials version) is tried at once and works.
    let good = via(&sim, &server, &sim.password, "secret@2");
    let vc = pool.connect(good).await.expect("the new credentials version logs in without waiting");
    vc.observe(&ObserveRequest::default()).await.unwrap();
    assert_eq!(pool.login_attempts(), 3);
    assert_eq!(pool.len().await, 1, "the rejected version is replaced by the working one");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_vcenter_does_not_hold_up_callers_of_another() {
    let sim = Vcsim::start().unwrap();
    let hole = black_hole().await;
    let pool = Arc::new(VcenterPool::new(PoolOptions { connect_timeout: Duration::from_secs(20), ..common::fast_options() }));
    let stuck = {
        let (pool, cfg) = (pool.clone(), ConnectionConfig { server: hole, ..common::config(&sim) });
        tokio::spawn(async move { pool.connect(cfg).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let vc = tokio::time::timeout(Duration::from_secs(5), pool.connect(common::config(&sim)))
        .await
        .expect("vcsim connects while the other vCenter hangs")
        .unwrap();
    vc.observe(&ObserveRequest::default()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!stuck.is_finished(), "the unreachable vCenter is still hanging");
    stuck.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_tls_settings_is_a_new_connection_and_takes_effect() {
    let sim = Vcsim::start().unwrap();
    let pool = VcenterPool::new(common::fast_options());
    let insecure = ConnectionConfig { ca_bundle_pem: None, insecure_skip_verify: true, ..common::config(&sim) };
    pool.connect(insecure).await.expect("insecure connect");
    let other = TestCa::generate("some other CA").unwrap();
    let pinned = ConnectionConfig { ca_bundle_pem: Some(other.ca_cert_pem), insecure_skip_verify: false, ..common::config(&sim) };
    let err = pool.connect(pinned).await.err().expect("a CA that did not sign vcsim's certificate must fail");
    assert!(matches!(err, VcenterError::Tls { .. }), "{err:?}");
    pool.connect(common::config(&sim)).await.expect("the right CA verifies");
}
