//! ACS benchmark: validate one signed response and upsert its user, end to end through the
//! same function the HTTP handler calls, with the process held to one and then two cores,
//! beside the raw RSA-2048 signature verification rate measured in the same run on the same
//! machine with one and two threads.
//!
//! `cargo bench -p provisiond --bench acs` (release build). `ACS_BENCH_LOGINS` sets how many
//! logins per core count (default 4000), `ACS_BENCH_CLIENTS` how many logins are in flight at
//! once (default 16, as a busy ACS sees them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};

mod floor;
mod signed;
use signed::{BASE_URL, SignedResponses, signed_responses};

fn main() {
    let logins: usize = std::env::var("ACS_BENCH_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let clients: usize = std::env::var("ACS_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = std::env::temp_dir().join(format!("provisiond-acs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!(
        "ACS benchmark: {logins} logins per run, {clients} in flight, RSA-2048 / RSA-SHA256, \
         SQLite (WAL)"
    );
    println!();
    let raw1 = raw_verify_rate(1);
    let raw2 = raw_verify_rate(2);
    println!("raw RSA-2048 verify, 1 thread : {raw1:>9.0}/s");
    println!("raw RSA-2048 verify, 2 threads: {raw2:>9.0}/s");
    println!();

    for cores in [1usize, 2] {
        let run_dir = dir.join(format!("c{cores}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let (rate, p50, p99) = acs_run(&run_dir, cores, logins, clients, (raw1, raw2));
        let raw = if cores == 1 { raw1 } else { raw2 };
        println!(
            "ACS, {cores} core(s): {rate:>7.0} logins/s  p50 {:>6.2} ms  p99 {:>6.2} ms  \
             ratio to raw verify {:>5.1}%  (target >= 20%, p99 < 5 ms)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            100.0 * rate / raw
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Verifications per second of one RSA-2048 PKCS#1 v1.5 SHA-256 signature over a digest-sized
/// message, `threads` threads for about a second.
fn raw_verify_rate(threads: usize) -> f64 {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let message = [7u8; 64];
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(&message).unwrap();
    let signature = signer.sign_to_vec().unwrap();
    let public = PKey::public_key_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
    let (public, signature) = (Arc::new(public), Arc::new(signature));

    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (public, signature) = (public.clone(), signature.clone());
            std::thread::spawn(move || {
                let mut count = 0u64;
                let until = Instant::now() + Duration::from_secs(1);
                while Instant::now() < until {
                    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
                    verifier.update(&message).unwrap();
                    assert!(verifier.verify(&signature).unwrap());
                    count += 1;
                }
                count
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// Holds this thread, and every thread it starts from now on, to the first `cores` CPUs.
fn pin_to(cores: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it, and
    // sched_setaffinity reads exactly size_of::<cpu_set_t>() bytes of it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..cores {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(rc, 0, "cannot hold the benchmark to {cores} core(s)");
}

/// Logs in `logins` distinct users (each a first login: validate, create the account, start
/// a session, audit) with `clients` logins in flight on a runtime of `cores` workers, the
/// whole process held to `cores` CPUs; returns logins/s, p50 and p99.
fn acs_run(
    dir: &std::path::Path,
    cores: usize,
    logins: usize,
    clients: usize,
    (raw, raw2): (f64, f64),
) -> (f64, Duration, Duration) {
    pin_to(cores);
    let now = Utc::now();
    let SignedResponses {
        simulator,
        keys,
        responses,
    } = signed_responses(logins, now);
    let config_path = dir.join("provisiond.yaml");
    std::fs::write(
        &config_path,
        format!(
            "server: {{ base_url: '{BASE_URL}', \
             session_key: 'bench-session-key-0123456789abcdef' }}\n\
             connections:\n  - name: acme\n    domains: [acme.example]\n    saml:\n      \
             idp_entity_id: '{}'\n      sso_url: '{BASE_URL}/idp'\n      \
             certificates: ['{}']\n      \
             allow_idp_initiated: true\n",
            simulator.entity_id(),
            keys.key(0).cert_base64()
        ),
    )
    .unwrap();
    let config = Arc::new(provisiond::config::load(&config_path).unwrap());
    let store = provisiond::store::Store::open(&config.database).unwrap();
    let providers = provisiond::saml::Providers::from_config(&config);
    let keys_session = provisiond::session::SessionKeys::new(config.server.session_key.clone());

    let responses = Arc::new(responses);

    // Validation alone, single thread, for the split between signature work and the store.
    let mut validation = None;
    if cores == 1 {
        let sp = providers.get("acme").unwrap();
        let idp = sp.idp().unwrap();
        let expect = provisiond::saml::validate::Expectations {
            idp: &idp,
            sp_entity_id: &sp.sp_entity_id,
            acs_url: &sp.acs_url,
            clock_skew: chrono::Duration::seconds(180),
            allow_sha1: false,
        };
        let begun = Instant::now();
        for response in responses.iter() {
            provisiond::saml::validate::validate_base64(response, &expect, Utc::now()).unwrap();
        }
        let per = begun.elapsed() / responses.len() as u32;
        println!(
            "validation only, 1 thread: {:>7.0}/s ({per:?} each)",
            1.0 / per.as_secs_f64()
        );
        validation = Some(per);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();

    // The store half alone (request and replay checks, account, session, audit, events), on
    // responses checked beforehand, into a store of its own.
    if cores == 1 {
        let sp = providers.get("acme").unwrap();
        let connection = config.connection("acme").unwrap();
        let checked: Vec<_> = responses
            .iter()
            .map(|response| {
                provisiond::saml::login::check_response(&sp, connection, Some(response), now)
            })
            .collect();
        let mut database = config.database.clone();
        database.url = provisiond::config::DatabaseUrl::Sqlite(dir.join("store-half.db"));
        let store = provisiond::store::Store::open(&database).unwrap();
        let checked = Arc::new(std::sync::Mutex::new(checked.into_iter()));
        let started = Instant::now();
        runtime.block_on(async {
            let tasks: Vec<_> = (0..clients)
                .map(|_| {
                    let (store, sp, server, keys, checked) = (
                        store.clone(),
                        sp.clone(),
                        config.server.clone(),
                        keys_session.clone(),
                        checked.clone(),
                    );
                    tokio::spawn(async move {
                        loop {
                            let Some(next) = checked.lock().unwrap().next() else {
                                break;
                            };
                            let (sp, server, keys) = (sp.clone(), server.clone(), keys.clone());
                            store
                                .run_write_in_place(move |store| {
                                    provisiond::saml::login::finish_login(
                                        store,
                                        &sp,
                                        &server,
                                        keys.issue(),
                                        next,
                                        None,
                                        Utc::now(),
                                    )
                                })
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let per = started.elapsed() / responses.len() as u32;
        println!(
            "store half only, {clients} in flight: {:>7.0}/s ({per:?} each)",
            1.0 / per.as_secs_f64()
        );
        let floor = floor::store_floor(dir, responses.len(), clients);
        println!(
            "store floor (the same rows, SQLite's C API, statements prepared once, values \
             made beforehand, {clients} logins a commit): {:?} each, {:.1} KiB of WAL each",
            floor.per_login,
            floor.wal_bytes_per_login / 1024.0
        );
        if let Some(validation) = validation {
            let ceiling = 1.0 / (validation + floor.per_login).as_secs_f64();
            println!(
                "  so one core cannot log in more than {ceiling:.0}/s with this validation \
                 ({:.1}% of raw verify), nor two more than {:.0}/s (the writer's floor \
                 alone: {:.1}% of 2-thread raw verify)",
                100.0 * ceiling / raw,
                1.0 / floor.per_login.as_secs_f64(),
                100.0 / floor.per_login.as_secs_f64() / raw2
            );
        }
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        // As `serve` does: checkpoint the WAL in the background (ends with the runtime).
        store.spawn_checkpoints();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (responses, store, config, providers, keys_session, next) = (
                    responses.clone(),
                    store.clone(),
                    config.clone(),
                    providers.clone(),
                    keys_session.clone(),
                    next.clone(),
                );
                tokio::spawn(async move {
                    let sp = providers.get("acme").unwrap();
                    let connection = config.connection("acme").unwrap();
                    let mut latencies = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(response) = responses.get(i) else {
                            break;
                        };
                        let begun = Instant::now();
                        provisiond::saml::login::complete_login_async(
                            &store,
                            sp.clone(),
                            connection.clone(),
                            config.server.clone(),
                            keys_session.clone(),
                            Some(response.clone()),
                            None,
                            Utc::now(),
                        )
                        .await
                        .unwrap();
                        latencies.push(begun.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    )
}
