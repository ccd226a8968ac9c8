//! A detector's place in the fleet (`[fleet] group`, `members`, `member`):
//! which rules it runs, which partitions of the stream it owns, the durable
//! consumer of each, and the lease key of its slot. Pure: the consumers are
//! opened by [`super::consume`], the slot held by [`super::lease`].
//!
//! A member of `members = N` owns the partitions `p` with `p % N == member`
//! (a static split: every member of a group knows every other's share
//! without talking to it, and a replacement takes a slot whole).

use std::fmt;

use super::subject::PARTITIONS;

/// Which rules a detector runs, hence how it splits the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Every rule over the whole stream: one detector (the default).
    All,
    /// Rules keyed by user (`user`, `user+source.ip`), by user partition.
    User,
    /// Rules keyed by address (`source.ip`, `source.net`), by network partition.
    Address,
}

impl Group {
    pub fn parse(s: &str) -> Option<Group> {
        match s {
            "all" => Some(Group::All),
            "user" => Some(Group::User),
            "address" => Some(Group::Address),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Group::All => "all",
            Group::User => "user",
            Group::Address => "address",
        }
    }

    /// Whether a rule keyed with a user (`has_user`, see
    /// `crate::rules::GroupBy::has_user`) belongs to this group: a key with a
    /// user is whole in a user partition, one without (an address or a
    /// network) is whole in a network partition.
    pub fn runs(self, has_user: bool) -> bool {
        match self {
            Group::All => true,
            Group::User => has_user,
            Group::Address => !has_user,
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validated place: `member` in `0..members`; `members == 1` for
/// [`Group::All`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub group: Group,
    pub members: u64,
    pub member: u64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard {
            group: Group::All,
            members: 1,
            member: 0,
        }
    }
}

/// One durable consumer of a member: its name, its filter subject (`None`:
/// the whole stream) and the partition it reads (`None` for the whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub consumer: String,
    pub filter: Option<String>,
    pub partition: Option<u64>,
}

/// The durable consumer of the single detector (group `all`).
pub const ALL_CONSUMER: &str = "loginwatch_detector";

impl Shard {
    /// Problems with `members` and `member`, as messages (empty: valid).
    pub fn check(group: Group, members: u64, member: u64) -> Vec<String> {
        let mut errs = Vec::new();
        if group == Group::All && members != 1 {
            errs.push(format!(
                "members = {members} with group \"all\": a detector running every rule \
                 reads the whole stream and cannot share it; set group = \"user\" or \
                 \"address\" to split the stream"
            ));
        }
        if members == 0 || members > PARTITIONS {
            errs.push(format!(
                "members = {members}: between 1 and {PARTITIONS} (the stream has \
                 {PARTITIONS} partitions per group)"
            ));
        } else if member >= members {
            errs.push(format!(
                "member = {member}: members are numbered 0 to {} (members = {members})",
                members - 1
            ));
        }
        errs
    }

    /// The partitions this member owns (all of them for group `all`).
    pub fn partitions(&self) -> Vec<u64> {
        (0..PARTITIONS)
            .filter(|p| p % self.members.max(1) == self.member)
            .collect()
    }

    /// The durable consumers this member reads through, one per owned
    /// partition (one over the whole stream for group `all`).
    pub fn parts(&self, prefix: &str) -> Vec<Part> {
        let filter = |p: u64| match self.group {
            Group::All => None,
            Group::User => Some(format!("{prefix}.*.{p}.*")),
            Group::Address => Some(format!("{prefix}.*.*.{p}")),
        };
        if self.group == Group::All {
            return vec![Part {
                consumer: ALL_CONSUMER.to_owned(),
                filter: None,
                partition: None,
            }];
        }
        self.partitions()
            .into_iter()
            .map(|p| Part {
                consumer: format!("loginwatch_{}_{p}", self.group),
                filter: filter(p),
                partition: Some(p),
            })
            .collect()
    }

    /// The key of this slot's lease (`<stream>.<group>.<member>`): two
    /// fleets (two streams) on one NATS account have slots of their own.
    pub fn lease_key(&self, stream: &str) -> String {
        format!("{stream}.{}.{}", self.group, self.member)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "group {}, member {} of {}",
            self.group, self.member, self.members
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_share_every_partition_once() {
        for members in [1, 2, 3, 7, 64] {
            let mut seen = vec![0; PARTITIONS as usize];
            for member in 0..members {
                let s = Shard {
                    group: Group::User,
                    members,
                    member,
                };
                for p in s.partitions() {
                    seen[p as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{members}: {seen:?}");
        }
    }

    #[test]
    fn consumers_filter_their_partition_token() {
        let s = Shard {
            group: Group::Address,
            members: 32,
            member: 5,
        };
        let parts = s.parts("lw.ev");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].consumer, "loginwatch_address_37");
        assert_eq!(parts[1].filter.as_deref(), Some("lw.ev.*.*.37"));
        let u = Shard {
            group: Group::User,
            ..s
        };
        assert_eq!(u.parts("p")[0].filter.as_deref(), Some("p.*.5.*"));
        assert_eq!(u.lease_key("S"), "S.user.5");
        let all = Shard::default().parts("p");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].consumer, ALL_CONSUMER);
        assert_eq!(all[0].filter, None);
    }

    #[test]
    fn groups_split_rules_by_their_key() {
        assert!(Group::User.runs(true) && !Group::User.runs(false));
        assert!(Group::Address.runs(false) && !Group::Address.runs(true));
        assert!(Group::All.runs(true) && Group::All.runs(false));
    }

    #[test]
    fn bad_places_are_reported() {
        assert!(Shard::check(Group::User, 2, 1).is_empty());
        assert!(Shard::check(Group::All, 1, 0).is_empty());
        assert_eq!(Shard::check(Group::All, 2, 0).len(), 1);
        assert!(Shard::check(Group::User, 2, 2)[0].contains("0 to 1"));
        assert!(Shard::check(Group::User, 0, 0)[0].contains("between 1 and 64"));
        assert_eq!(Shard::check(Group::Address, 65, 0).len(), 1);
    }
}
