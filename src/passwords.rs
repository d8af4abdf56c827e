//! Password hashing with argon2id (OWASP minimum: m=19456 KiB, t=2, p=1), off the async
//! runtime and bounded, so a login storm queues instead of starving other requests.
//!
//! The hashes run on a pool of their own: one thread per core, fed by one queue. A thread that
//! finishes a hash takes the next from the queue at once, so a storm keeps every core hashing;
//! handing each hash to a blocking task through an async semaphore instead left a core idle
//! about one millisecond in twenty, while the freed permit waited for the runtime to run its
//! next holder (measured with `perf sched`: 12 % idle under a login storm).
//!
//! Each hash needs 19 MiB of working memory. Rather than allocate and free it per hash (which
//! glibc keeps mapped after a storm: hundreds of MiB of RSS that never come back, and a
//! page-fault bill on every hash), each hashing thread has one buffer, allocated on first use
//! and reused: memory is bounded by cores × 19 MiB. A thread that has had no hash for
//! [`IDLE_RELEASE`] frees its buffer and has the allocator hand freed memory back to the
//! system, so a login storm's memory comes back after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::anyhow;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::domain::Password;

/// One hash to run, with the hashing thread's working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    /// The hashing threads' queue; when the last hasher is dropped, they end.
    jobs: flume::Sender<Job>,
    /// Bytes of working memory the hashing threads hold.
    pooled: Arc<AtomicUsize>,
    /// A real hash of a random password, made on first need: unknown users are checked
    /// against it so that the answer takes as long as for a known one.
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

/// How long a hashing thread's working memory outlives its last hash.
pub const IDLE_RELEASE: Duration = Duration::from_secs(30);

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn bytes(memory: &Vec<Block>) -> usize {
    memory.capacity() * std::mem::size_of::<Block>()
}

impl PasswordHasher {
    /// One hashing thread per core; no working memory until the first hash.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_idle_release(IDLE_RELEASE)
    }

    /// A hasher whose threads free their memory after `after` without a hash (for tests).
    #[doc(hidden)]
    pub fn with_idle_release(after: Duration) -> anyhow::Result<Self> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = flume::unbounded::<Job>();
        let pooled = Arc::new(AtomicUsize::new(0));
        for n in 0..parallel {
            let (queue, pooled) = (queue.clone(), pooled.clone());
            std::thread::Builder::new()
                .name(format!("authd-argon2-{n}"))
                .spawn(move || hash_jobs(&queue, &pooled, after))?;
        }
        Ok(Self {
            jobs,
            pooled,
            dummy: Arc::default(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let plain = password.expose().to_owned();
        self.run(move |memory| hash_into(memory, &plain)).await?
    }

    /// Checks `candidate` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown user, passwordless account): that always answers false, just as slowly.
    pub async fn verify(&self, candidate: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let candidate = candidate.to_owned();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => {
                let dummy = self
                    .dummy
                    .get_or_try_init(|| async {
                        let plain = format!("dummy-{}", uuid::Uuid::new_v4());
                        self.run(move |memory| hash_into(memory, &plain)).await?
                    })
                    .await?;
                (dummy.clone(), false)
            }
        };
        let ok = self
            .run(move |memory| verify_into(memory, candidate.as_bytes(), &hash))
            .await??;
        Ok(ok && real)
    }

    /// Runs `f` on a hashing thread with its working memory, after the hashes queued before
    /// it. Nothing runs for a caller that has gone (a request cancelled while it waited).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (span, pooled) = (tracing::Span::current(), self.pooled.clone());
        let job: Job = Box::new(move |memory| {
            if answer.is_closed() {
                return;
            }
            let before = bytes(memory);
            let result = span.in_scope(|| f(memory));
            pooled.fetch_add(bytes(memory) - before, Ordering::Relaxed);
            let _ = answer.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("password hashing has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow!("password hashing failed"))
    }

    /// How many bytes of working memory the hashing threads hold now.
    pub fn pooled_bytes(&self) -> usize {
        self.pooled.load(Ordering::Relaxed)
    }
}

/// A hashing thread: runs the queue's jobs in its working memory, which it frees after
/// `idle_release` without one; ends when every hasher is gone.
fn hash_jobs(queue: &flume::Receiver<Job>, pooled: &AtomicUsize, idle_release: Duration) {
    yield_to_requests();
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = if memory.capacity() == 0 {
            queue.recv().ok()
        } else {
            match queue.recv_timeout(idle_release) {
                Ok(job) => Some(job),
                Err(flume::RecvTimeoutError::Timeout) => {
                    pooled.fetch_sub(bytes(&memory), Ordering::Relaxed);
                    memory = Vec::new();
                    return_freed_memory();
                    tracing::debug!("argon2 working memory freed after a quiet spell");
                    continue;
                }
                Err(flume::RecvTimeoutError::Disconnected) => None,
            }
        };
        let Some(job) = job else { break };
        // A job that panics loses its answer (its caller gets an error), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
    }
    pooled.fetch_sub(bytes(&memory), Ordering::Relaxed);
}

/// Lowers the calling thread's priority (nice 5): with the cores busy, the runtime's threads
/// serving other requests go first, and hashes take what they leave, so a login storm slows
/// logins rather than every route.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority changes the scheduling weight of this thread (Linux keeps the nice
    // value per thread); it touches no memory.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 5);
    }
}

/// Has allocations of 1 MiB or more (the 19 MiB buffers) mapped from the system and unmapped
/// when freed. glibc's default raises this threshold to the size of the first such block
/// freed; from then on the buffers live in its arenas, and a freed one that borders an arena's
/// top stays resident (trimming an arena waits for twice the threshold). Called once at start.
pub fn return_big_blocks_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets a tuning parameter of the allocator; it touches no memory of ours.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Hands memory the allocator keeps after frees back to the system.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas; it reads
    // and changes no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `memory` grown (once) to what `params` needs, zeroed where it will be used.
fn working_memory<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `plain`, computed in `memory`.
fn hash_into(memory: &mut Vec<Block>, plain: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow!("salt: {e}"))?;
    let hasher = argon2();
    let blocks = working_memory(memory, hasher.params());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        hasher
            .hash_password_into_with_memory(plain.as_bytes(), salt_bytes, out, &mut *blocks)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow!("hashing failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(hasher.params()).map_err(|e| anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `candidate` matches the PHC string `stored` (any argon2 variant and parameters it
/// names), computed in `memory`; the comparison takes the same time whatever matches.
fn verify_into(memory: &mut Vec<Block>, candidate: &[u8], stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow!("stored hash unreadable: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow!("stored hash: {e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow!("stored hash: {e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| anyhow!("stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("stored hash has no salt or no hash");
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow!("stored hash salt: {e}"))?;
    let hasher = Argon2::new(algorithm, version, params.clone());
    let blocks = working_memory(memory, &params);
    let mut out = vec![0u8; expected.len()];
    hasher
        .hash_password_into_with_memory(candidate, salt_bytes, &mut out, blocks)
        .map_err(|e| anyhow!("verifying failed: {e}"))?;
    use subtle::ConstantTimeEq as _;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    /// The working memory is kept while hashes come, and freed once they stop.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn working_memory_is_freed_after_a_quiet_spell() {
        let hasher = PasswordHasher::with_idle_release(Duration::from_millis(300)).unwrap();
        assert_eq!(hasher.pooled_bytes(), 0, "nothing before the first hash");
        let password = Password::parse("correct-horse-9", None).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert_eq!(hasher.pooled_bytes(), 19_456 * 1024);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(hasher.verify("correct-horse-9", Some(&hash)).await.unwrap());
            assert!(hasher.pooled_bytes() > 0, "kept while hashes come");
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hasher.pooled_bytes(), 0, "freed after a quiet spell");
        assert!(hasher.verify("correct-horse-9", Some(&hash)).await.unwrap());
    }

    #[test]
    fn pooled_memory_hashes_and_verifies_like_the_crate() {
        let mut memory = Vec::new();
        let ours = hash_into(&mut memory, "correct-horse-9").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(verify_into(&mut memory, b"correct-horse-9", &ours).unwrap());
        assert!(!verify_into(&mut memory, b"correct-horse-8", &ours).unwrap());
        // The same memory, reused, gives the same answers.
        assert!(verify_into(&mut memory, b"correct-horse-9", &ours).unwrap());
        assert_eq!(memory.len(), 19_456, "one 19 MiB buffer, reused");

        // Hashes stored by the argon2 crate's own hasher (what earlier authd wrote), and with
        // other parameters, verify too.
        let salt = SaltString::generate(&mut OsRng);
        let crate_made = argon2()
            .hash_password(b"old-password-1", &salt)
            .unwrap()
            .to_string();
        assert!(verify_into(&mut memory, b"old-password-1", &crate_made).unwrap());
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 3, 1, None).unwrap(),
        )
        .hash_password(b"small-params-1", &salt)
        .unwrap()
        .to_string();
        assert!(verify_into(&mut memory, b"small-params-1", &small).unwrap());
        assert!(!verify_into(&mut memory, b"small-params-2", &small).unwrap());
        assert!(verify_into(&mut memory, b"x", "not a hash").is_err());
    }
}
