//! Time comes in through the state, so tests can move it instead of sleeping.
//!
//! Instances on one database decide time-critical questions (a key's activation and
//! retirement, a refresh token's grace window, a code's expiry, an email's lease) by one clock:
//! the database's. [`Aligned`] is the machine's clock moved by its measured offset from the
//! database's, read again every [`ALIGN_EVERY`]; an instance whose clock is a minute off still
//! agrees with the others.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Now as stored in the database: UTC without an offset.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// What this machine's clock says, whatever time a test has travelled: what an offset to
    /// the database's clock is measured against.
    fn machine_now(&self) -> DateTime<Utc> {
        self.now()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that runs with real time plus an offset the test moves forward (time travel, for
/// every party alike), and a skew of this machine's clock alone (a wrong clock).
#[derive(Default)]
pub struct OffsetClock {
    offset: Mutex<Duration>,
    skew: Mutex<Duration>,
}

impl OffsetClock {
    pub fn advance(&self, by: std::time::Duration) {
        let mut offset = self.offset.lock().expect("clock lock");
        *offset += Duration::from_std(by).expect("a sane duration");
    }

    /// This machine's clock is `by` ahead (or behind, negative) of true time.
    pub fn set_skew(&self, by: Duration) {
        *self.skew.lock().expect("clock lock") = by;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        self.machine_now() + *self.offset.lock().expect("clock lock")
    }

    fn machine_now(&self) -> DateTime<Utc> {
        Utc::now() + *self.skew.lock().expect("clock lock")
    }
}

/// How often an instance measures its clock against the database's again.
pub const ALIGN_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// A difference from the database's clock worth a warning: the machine's time service is off.
const WORTH_A_WARNING: Duration = Duration::seconds(2);

/// `inner`, moved to the database's time by the offset last measured (none until then).
pub struct Aligned {
    inner: Arc<dyn Clock>,
    offset_us: AtomicI64,
}

impl Aligned {
    pub fn new(inner: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            offset_us: AtomicI64::new(0),
        }
    }

    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Takes a reading of the database's clock: `database` read between `before` and `after`
    /// on this machine's clock. A reading that took over a second tells too little and is
    /// dropped.
    pub fn measured(&self, before: DateTime<Utc>, database: DateTime<Utc>, after: DateTime<Utc>) {
        let round_trip = after - before;
        if round_trip > Duration::seconds(1) || round_trip < Duration::zero() {
            return;
        }
        let offset = database - (before + round_trip / 2);
        // Said once, and again when it changes much: not at every reading.
        if offset.abs() > WORTH_A_WARNING && (offset - self.offset()).abs() > WORTH_A_WARNING {
            tracing::warn!(
                offset_ms = offset.num_milliseconds(),
                "this machine's clock differs from the database's; authd decides by the \
                 database's (set up NTP on this machine)"
            );
        }
        self.offset_us
            .store(offset.num_microseconds().unwrap_or(0), Ordering::Relaxed);
    }

    /// This machine's clock, for a reading (see [`Aligned::measured`]).
    pub fn machine_now(&self) -> DateTime<Utc> {
        self.inner.machine_now()
    }
}

impl Clock for Aligned {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now() + self.offset()
    }

    fn machine_now(&self) -> DateTime<Utc> {
        self.inner.machine_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aligned_clock_tells_the_databases_time_and_keeps_test_travel() {
        let machine = Arc::new(OffsetClock::default());
        machine.set_skew(Duration::seconds(-60));
        machine.advance(std::time::Duration::from_secs(3600));
        let aligned = Aligned::new(machine.clone());
        let database = Utc::now();
        let before = aligned.machine_now();
        aligned.measured(before, database, before + Duration::milliseconds(2));
        let off = aligned.now() - (Utc::now() + Duration::seconds(3600));
        assert!(off.abs() < Duration::milliseconds(200), "{off}");
        // A slow reading changes nothing.
        aligned.measured(
            before,
            database + Duration::hours(5),
            before + Duration::seconds(3),
        );
        let off = aligned.now() - (Utc::now() + Duration::seconds(3600));
        assert!(off.abs() < Duration::milliseconds(200), "{off}");
    }
}
