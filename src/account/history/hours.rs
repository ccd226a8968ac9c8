//! Failures and successes per hour over the last week, for the helpdesk
//! page's chart: the ring of recent attempts is too short for "the last
//! days", and a full log would be too much to keep per account.
//!
//! Sparse: only hours with activity are stored, sorted, in a `ThinVec` (one
//! pointer in the history, no allocation while empty), so an account that
//! logs in once a day costs 8 bytes a day of the week, one that never
//! fails or succeeds nothing. Hours older than [`MAX_HOURS`] before the
//! newest are dropped as newer ones come.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thin_vec::ThinVec;

/// Hours remembered, counted back from the newest hour with activity: a week.
pub const MAX_HOURS: u32 = 168;

/// The attempts of one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Hours since the Unix epoch (UTC): `unix seconds / 3600`.
    pub hour: u32,
    /// Failed attempts in that hour (saturating: 65,535 an hour is already
    /// a flood, and the chart's point is its shape).
    pub failures: u16,
    pub successes: u16,
}

/// The hours with activity, oldest first; see the module header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hours(ThinVec<HourCount>);

impl Hours {
    /// Counts one attempt at `t` (Unix seconds): a failure unless `success`.
    /// An attempt before 1970 or more than [`MAX_HOURS`] older than the
    /// newest hour is not counted (it would be dropped at once).
    pub fn add(&mut self, t: i64, success: bool) {
        let Ok(hour) = u32::try_from(t.div_euclid(3600)) else {
            return;
        };
        let newest = self.0.last().map_or(hour, |h| h.hour.max(hour));
        if hour + MAX_HOURS <= newest {
            return;
        }
        let i = match self.0.binary_search_by_key(&hour, |h| h.hour) {
            Ok(i) => i,
            Err(i) => {
                // Grown by a quarter, not doubled (one at first: most accounts
                // are active a few hours a week): a busy week fills 168
                // hours, and doubling would hold room for 256.
                if self.0.len() == self.0.capacity() {
                    self.0.reserve_exact((self.0.len() / 4).max(1));
                }
                self.0.insert(
                    i,
                    HourCount {
                        hour,
                        failures: 0,
                        successes: 0,
                    },
                );
                i
            }
        };
        let h = &mut self.0[i];
        if success {
            h.successes = h.successes.saturating_add(1);
        } else {
            h.failures = h.failures.saturating_add(1);
        }
        let stale = self
            .0
            .iter()
            .take_while(|h| h.hour + MAX_HOURS <= newest)
            .count();
        if stale > 0 {
            self.0.drain(..stale);
        }
    }

    /// The hours with activity, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &HourCount> {
        self.0.iter()
    }

    /// Hours with activity held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no hour had activity.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        if self.0.capacity() == 0 {
            0
        } else {
            // ThinVec's header (length and capacity) sits before the items.
            2 * std::mem::size_of::<usize>() + self.0.capacity() * std::mem::size_of::<HourCount>()
        }
    }
}

// Stored as a plain sequence (thin-vec's serde support is not enabled).
impl Serialize for Hours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hours, D::Error> {
        let v: Vec<HourCount> = Vec::deserialize(d)?;
        // A stored row is ours, but a damaged one must not break the
        // invariant the chart and `add` rely on: sorted, one entry an hour.
        let mut out: ThinVec<HourCount> = ThinVec::with_capacity(v.len());
        for h in v {
            if out.last().is_none_or(|l| l.hour < h.hour) {
                out.push(h);
            }
        }
        Ok(Hours(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn counts(h: &Hours) -> Vec<(u32, u16, u16)> {
        h.iter()
            .map(|c| (c.hour, c.failures, c.successes))
            .collect()
    }

    #[test]
    fn attempts_are_counted_per_hour_sparse_and_sorted() {
        let mut h = Hours::default();
        assert_eq!(h.heap_bytes(), 0, "no activity, no allocation");
        let base = 500_000 * H;
        h.add(base + 10, false);
        h.add(base + 3599, false);
        h.add(base + 3600, true);
        h.add(base - 1, true); // late, out of order: still counted
        h.add(base + 5 * H, false);
        assert_eq!(
            counts(&h),
            [
                (499_999, 0, 1),
                (500_000, 2, 0),
                (500_001, 0, 1),
                (500_005, 1, 0)
            ]
        );
    }

    #[test]
    fn only_the_last_week_is_kept() {
        let mut h = Hours::default();
        for i in 0..400 {
            h.add(i * H, i % 3 == 0);
        }
        assert_eq!(h.len(), MAX_HOURS as usize);
        assert!(
            h.heap_bytes() <= 16 + 8 * 5 * MAX_HOURS as usize / 4,
            "grown by quarters"
        );
        assert_eq!(h.iter().next().unwrap().hour, 400 - MAX_HOURS);
        // Older than the week before the newest: not counted at all.
        h.add(10 * H, false);
        assert_eq!(h.iter().next().unwrap().hour, 400 - MAX_HOURS);
        // A jump forward drops everything older than a week before it.
        h.add(10_000 * H, true);
        assert_eq!(counts(&h), [(10_000, 0, 1)]);
        // Before 1970: ignored, not wrapped around.
        h.add(-5, false);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn counts_saturate() {
        let mut h = Hours::default();
        for _ in 0..70_000 {
            h.add(0, false);
        }
        assert_eq!(counts(&h), [(0, u16::MAX, 0)]);
    }

    #[test]
    fn the_stored_form_round_trips_and_a_damaged_order_is_repaired() {
        let mut h = Hours::default();
        h.add(7 * H, true);
        h.add(9 * H, false);
        let bytes = postcard::to_allocvec(&h).unwrap();
        assert_eq!(postcard::from_bytes::<Hours>(&bytes).unwrap(), h);
        let bad = vec![
            HourCount {
                hour: 9,
                failures: 1,
                successes: 0,
            },
            HourCount {
                hour: 7,
                failures: 0,
                successes: 1,
            },
        ];
        let back: Hours = postcard::from_bytes(&postcard::to_allocvec(&bad).unwrap()).unwrap();
        assert_eq!(counts(&back), [(9, 1, 0)]);
    }
}
