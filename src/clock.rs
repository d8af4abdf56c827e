//! Time comes in through the state, so tests can move it instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Now as stored in the database: UTC without an offset.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that runs with real time plus an offset the test moves forward.
#[derive(Default)]
pub struct OffsetClock {
    offset: Mutex<Duration>,
}

impl OffsetClock {
    pub fn advance(&self, by: std::time::Duration) {
        let mut offset = self.offset.lock().expect("clock lock");
        *offset += Duration::from_std(by).expect("a sane duration");
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().expect("clock lock")
    }
}
