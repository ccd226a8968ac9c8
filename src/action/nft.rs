//! nftables: blocked addresses go into a named set, with the lock's remaining
//! time as the element's timeout, so the kernel drops the block by itself even
//! if the daemon is down at unlock time; unlock deletes the element early.
//!
//! The set must exist (with `flags timeout`, and `flags interval` for networks),
//! created by the admin's ruleset: loginwatch never writes rules, only set
//! elements, so it cannot open or close anything else in the firewall.
//! Always argv (`nft add element inet filter SET { 192.0.2.1 timeout 600s }`),
//! never a shell; the address is a typed value, so it cannot carry syntax.

use super::NftSpec;
use super::plan::Phase;
use super::template::{Values, Var};

/// True for names nft accepts as a family, table or set without quoting.
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The argv that adds (or, on undo, deletes) the decision's address.
pub fn argv(spec: &NftSpec, phase: Phase, values: &Values) -> Result<Vec<String>, Var> {
    let ip = values.ip.as_deref().ok_or(Var::Ip)?;
    let (verb, element) = match (phase, &values.seconds) {
        (Phase::Apply, Some(secs)) => ("add", format!("{{ {ip} timeout {secs}s }}")),
        (Phase::Apply, None) => ("add", format!("{{ {ip} }}")),
        (Phase::Undo, _) => ("delete", format!("{{ {ip} }}")),
    };
    Ok(vec![
        spec.program.clone(),
        verb.to_owned(),
        "element".to_owned(),
        spec.family.clone(),
        spec.table.clone(),
        spec.set.clone(),
        element,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_identifiers() {
        assert!(valid_name("loginwatch_block") && valid_name("inet"));
        for bad in ["", "1x", "a b", "a;b", "a}", "-x"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
