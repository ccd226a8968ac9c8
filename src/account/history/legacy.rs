//! Stored histories of earlier versions, read into today's [`History`]: an
//! upgrade keeps what every account taught (its places, its spellings, its
//! last attempts) instead of relearning it from scratch.
//!
//! Each version's shape is written out here field for field, in its order:
//! postcard reads fields by position, so these structs *are* the format.

use std::collections::VecDeque;
use std::net::IpAddr;

use serde::Deserialize;

use super::{Attempt, History, Hours, Seen, Spelling};
use crate::event::{Action, Name, Outcome, Reason, RefusedBy};

/// Version 1 of [`Attempt`]: no `asn`.
#[derive(Deserialize)]
struct AttemptV1 {
    at: i64,
    action: Action,
    outcome: Outcome,
    reason: Option<Reason>,
    detail: Option<RefusedBy>,
    ip: Option<IpAddr>,
    device: Option<Name>,
    service: Option<Name>,
    country: Option<Name>,
    typed: Option<Name>,
    known_source: bool,
}

/// Version 1 of [`History`]: no `hours`.
#[derive(Deserialize)]
struct HistoryV1 {
    ips: Vec<Seen<IpAddr>>,
    nets: Vec<Seen<(bool, u64)>>,
    devices: Vec<Seen<Name>>,
    countries: Vec<Seen<Name>>,
    asns: Vec<Seen<u32>>,
    first_success: Option<i64>,
    last_success: Option<i64>,
    must_change_password: Option<i64>,
    os_locked: Option<i64>,
    spellings: Vec<Spelling>,
    recent: VecDeque<AttemptV1>,
    last_seen: i64,
}

/// A version 1 body (after the version byte). Its recent attempts seed the
/// hourly counts, so the chart is not empty right after an upgrade.
pub(super) fn v1(body: &[u8]) -> Option<History> {
    let h: HistoryV1 = postcard::from_bytes(body).ok()?;
    let mut hours = Hours::default();
    let recent: VecDeque<Attempt> = h
        .recent
        .into_iter()
        .map(|a| {
            if matches!(a.action, Action::Login | Action::Mfa) && a.outcome != Outcome::Unknown {
                hours.add(a.at, a.outcome == Outcome::Success);
            }
            Attempt {
                at: a.at,
                action: a.action,
                outcome: a.outcome,
                reason: a.reason,
                detail: a.detail,
                ip: a.ip,
                device: a.device,
                service: a.service,
                country: a.country,
                asn: None,
                typed: a.typed,
                known_source: a.known_source,
            }
        })
        .collect();
    Some(History {
        ips: h.ips,
        nets: h.nets,
        devices: h.devices,
        countries: h.countries,
        asns: h.asns,
        first_success: h.first_success,
        last_success: h.last_success,
        must_change_password: h.must_change_password,
        os_locked: h.os_locked,
        spellings: h.spellings,
        recent,
        hours,
        last_seen: h.last_seen,
        dirty: false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{decode, encode};

    /// A row the version 1 code wrote (carol: a success from 192.0.2.30 with
    /// a device, JP and AS64500; `caro1` linked; a wrong password).
    const V1_ROW: &str = "010100c000021ea08cc1af0d010100808480800ca08cc1af0d0101066c6170746f70\
        a08cc1af0d0101024a50a08cc1af0d0101f4f703a08cc1af0d0101a08cc1af0d01a08cc1af0d000001056361\
        726f3101988dc1af0d988dc1af0d03a08cc1af0d000000000100c000021e01066c6170746f700001024a5000\
        00988dc1af0d00010101000100c000021e00000001056361726f3101908ec1af0d00010100000100c000021e\
        0000000001908ec1af0d";

    #[test]
    fn a_row_of_version_1_still_loads() {
        let bytes = hex::decode(V1_ROW).unwrap();
        let h = decode(&bytes).expect("a version 1 row loads");
        assert_eq!(h.ips.len(), 1);
        assert_eq!(h.ips[0].value.to_string(), "192.0.2.30");
        assert_eq!(h.asns[0].value, 64500);
        assert_eq!(h.spellings[0].typed.as_ref(), "caro1");
        assert_eq!(h.recent.len(), 3);
        assert_eq!(h.recent[0].device.as_deref(), Some("laptop"));
        assert_eq!(h.recent[0].country.as_deref(), Some("JP"));
        assert_eq!(h.recent[1].typed.as_deref(), Some("caro1"));
        assert!(h.recent.iter().all(|a| a.asn.is_none()));
        assert_eq!(h.last_seen, 1_794_646_920);
        // The hourly counts are seeded from the attempts: 2 failures, 1 success.
        let c: Vec<(u16, u16)> = h.hours.iter().map(|c| (c.failures, c.successes)).collect();
        assert_eq!(c, [(2, 1)]);
        // Written back, it is a version 2 row that reads the same.
        let again = encode(&h);
        assert_eq!(again[0], 2);
        assert_eq!(decode(&again).unwrap(), h);
        // A truncated version 1 row is refused, not misread.
        assert!(decode(&bytes[..bytes.len() - 3]).is_none());
    }
}
