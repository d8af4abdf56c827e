//! The raw cost of what authd's hot paths must do, measured with the very crates and
//! parameters authd uses: RS256 signatures (aws-lc, RSA-2048), ES256 (P-256) and EdDSA
//! (Ed25519) per CPU-second on one core, and argon2id verifications (m=19456 KiB, t=2, p=1) per
//! second on all cores (and per CPU-second). `bench/run` divides authd's throughput by these.
//!
//!     cargo run --release --example raw_ceilings [rs256|es256|eddsa|argon2]
//!
//! With an argument, only that ceiling: `bench/run` measures each next to the round it divides,
//! so that the machine's drift between the two stays small.

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
};

fn cpu_time() -> Duration {
    // CLOCK_PROCESS_CPUTIME_ID through /proc: user + system ticks of this process.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn main() {
    let only = std::env::args().nth(1);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wanted("rs256") {
        rs256();
    }
    if wanted("es256") {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key");
        let rng = SystemRandom::new();
        signs_per_cpu_second("es256", |m| {
            pair.sign(&rng, m).expect("a signature");
        });
    }
    if wanted("eddsa") {
        let pair = Ed25519KeyPair::generate().expect("an Ed25519 key");
        signs_per_cpu_second("eddsa", |m| {
            std::hint::black_box(pair.sign(m));
        });
    }
    if wanted("argon2") {
        argon2();
    }
    println!(
        "cores {}",
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
}

/// Signs a message the size of an access token's header and claims for 4 s.
fn signs_per_cpu_second(name: &str, mut sign: impl FnMut(&[u8])) {
    let message = vec![b'a'; 420];
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut signs = 0u64;
    while wall0.elapsed() < Duration::from_secs(4) {
        sign(&message);
        signs += 1;
    }
    let cpu = (cpu_time() - cpu0).as_secs_f64().max(0.01);
    println!("{name}_signs_per_cpu_second {:.0}", signs as f64 / cpu);
}

fn rs256() {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
    // A message the size of an access token's header and claims.
    let message = vec![b'a'; 420];
    let rng = SystemRandom::new();
    let mut signature = vec![0u8; pair.public_modulus_len()];
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut signs = 0u64;
    while wall0.elapsed() < Duration::from_secs(4) {
        pair.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
            .expect("a signature");
        signs += 1;
    }
    let cpu = (cpu_time() - cpu0).as_secs_f64().max(0.01);
    println!("rs256_signs_per_cpu_second {:.0}", signs as f64 / cpu);
}

fn argon2() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let params = argon2::Params::new(19_456, 2, 1, None).expect("params");
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let stored = hasher
        .hash_password(b"correct-horse-9", &salt)
        .expect("a hash")
        .to_string();
    let (cpu0, wall) = (cpu_time(), Instant::now());
    let per_thread: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                let (hasher, stored) = (hasher.clone(), stored.clone());
                scope.spawn(move || {
                    let parsed = PasswordHash::new(&stored).expect("parse");
                    let mut n = 0u64;
                    while wall.elapsed() < Duration::from_secs(6) {
                        assert!(hasher.verify_password(b"correct-horse-9", &parsed).is_ok());
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let verifies: u64 = per_thread.iter().sum();
    let (seconds, cpu) = (
        wall.elapsed().as_secs_f64(),
        (cpu_time() - cpu0).as_secs_f64().max(0.01),
    );
    println!(
        "argon2id_verifies_per_second_all_cores {:.1}",
        verifies as f64 / seconds
    );
    println!(
        "argon2id_verifies_per_cpu_second {:.1}",
        verifies as f64 / cpu
    );
}
