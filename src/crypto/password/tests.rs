//! The password pool's tests: hashing, verification, parameters and the bounded queue.

use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;

fn cheap() -> PasswordsConfig {
    PasswordsConfig {
        memory_kib: 256,
        iterations: 1,
        ..PasswordsConfig::default()
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

#[tokio::test]
async fn hashes_are_phc_strings_with_the_configured_parameters() {
    let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
    let phc = hasher.hash("correct horse battery").await.expect("hash");
    let parts: Vec<&str> = phc.split('$').collect();
    assert_eq!(
        parts[..4],
        ["", "argon2id", "v=19", "m=256,t=1,p=1"],
        "{phc}"
    );
    assert_eq!(parts[4].len(), 22, "16-byte salt in unpadded base64: {phc}");
    assert_eq!(parts[5].len(), 43, "32-byte tag in unpadded base64: {phc}");
    let again = hasher.hash("correct horse battery").await.expect("hash");
    assert_ne!(phc, again, "a fresh salt every time");

    let ok = hasher
        .verify("correct horse battery", &phc)
        .await
        .expect("verify");
    assert_eq!(
        ok,
        Verification {
            matches: true,
            outdated: false
        }
    );
    let wrong = hasher.verify("correct horse batterx", &phc).await;
    assert!(!wrong.expect("verify").matches);
    hasher.verify_dummy("anything").await.expect("dummy");
}

#[tokio::test]
async fn verifies_the_reference_implementation_and_flags_other_parameters() {
    let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
    // From the argon2 reference implementation (`argon2 somesalt -id -t 2 -m 16`): m=64 MiB
    // is more than this pool's buffer, so this also takes the one-off buffer path.
    let reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$\
                     CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let v = hasher.verify("password", reference).await.expect("verify");
    assert!(v.matches && v.outdated, "{v:?}");
    assert!(
        !hasher
            .verify("Password", reference)
            .await
            .expect("v")
            .matches
    );

    let other = PasswordHasher::start(
        &PasswordsConfig {
            memory_kib: 512,
            iterations: 2,
            ..cheap()
        },
        None,
    )
    .await
    .expect("start");
    let phc = other.hash("a long enough password").await.expect("hash");
    let v = hasher
        .verify("a long enough password", &phc)
        .await
        .expect("v");
    assert!(v.matches && v.outdated, "{v:?}");
}

#[tokio::test]
async fn malformed_hashes_are_errors_not_mismatches() {
    let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
    for bad in [
        "",
        "plaintext",
        "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ",
        "$argon2id$v=42$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$bcrypt$v=19$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ] {
        let r = hasher.verify("password", bad).await;
        assert!(
            matches!(r, Err(PasswordError::Malformed(_))),
            "{bad}: {r:?}"
        );
    }
}

/// The production default, once: OWASP's m=19456, t=2, p=1.
#[tokio::test]
async fn owasp_parameters_hash_and_verify() {
    let hasher = PasswordHasher::start(&PasswordsConfig::default(), None)
        .await
        .expect("start");
    assert_eq!(hasher.params(), (19_456, 2, 1));
    let phc = hasher.hash("twelve chars!").await.expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let v = hasher.verify("twelve chars!", &phc).await.expect("verify");
    assert!(v.matches && !v.outdated);
}

#[tokio::test]
async fn one_thread_per_core_a_bounded_queue_and_shutdown_on_drop() {
    let hasher = PasswordHasher::start(
        &PasswordsConfig {
            queue: 1,
            ..cheap()
        },
        None,
    )
    .await
    .expect("start");
    assert_eq!(hasher.threads(), cores());
    assert_eq!(hasher.queue_capacity(), 1);
    let hasher = Arc::new(hasher);
    let phc = Arc::new(hasher.hash("a long enough password").await.expect("hash"));
    // Far more callers than queue slots: they wait for room, and all get their answer.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (hasher, phc) = (hasher.clone(), phc.clone());
        tasks.spawn(async move {
            let right = i % 2 == 0;
            let password = if right {
                "a long enough password"
            } else {
                "nope"
            };
            hasher.verify(password, &phc).await.expect("verify").matches == right
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(results.len(), 40);
    assert!(results.iter().all(|ok| *ok));
    assert_eq!(hasher.threads(), cores());

    let live = hasher.live.clone();
    drop(hasher);
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "threads did not stop");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn the_policy_is_length_only_and_says_so() {
    assert_eq!(
        policy_violation("elevenchars", 12).as_deref(),
        Some("must be at least 12 characters long")
    );
    assert_eq!(policy_violation("twelve chars", 12), None);
    // Characters, not bytes: twelve accented letters pass.
    assert_eq!(policy_violation("éééééééééééé", 12), None);
    assert_eq!(policy_violation(&"a".repeat(256), 12), None);
    assert_eq!(
        policy_violation(&"a".repeat(257), 12).as_deref(),
        Some("must be at most 256 bytes long")
    );
}

#[test]
fn configuration_errors_name_the_setting() {
    let with = |p: PasswordsConfig| {
        Config {
            passwords: p,
            ..Config::default()
        }
        .validated()
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert!(with(PasswordsConfig::default()).is_ok());
    assert!(with(cheap()).is_ok());
    for (bad, setting) in [
        (
            PasswordsConfig {
                memory_kib: 7,
                ..cheap()
            },
            "TESSERA_PASSWORDS__MEMORY_KIB",
        ),
        (
            PasswordsConfig {
                memory_kib: 16,
                parallelism: 4,
                ..cheap()
            },
            "TESSERA_PASSWORDS__MEMORY_KIB",
        ),
        (
            PasswordsConfig {
                iterations: 0,
                ..cheap()
            },
            "TESSERA_PASSWORDS__ITERATIONS",
        ),
        (
            PasswordsConfig {
                parallelism: 0,
                ..cheap()
            },
            "TESSERA_PASSWORDS__PARALLELISM",
        ),
        (
            PasswordsConfig {
                min_length: 4,
                ..cheap()
            },
            "TESSERA_PASSWORDS__MIN_LENGTH",
        ),
    ] {
        let err = with(bad).expect_err(setting);
        assert!(err.contains(setting), "{err}");
    }
}
