//! Why a decision got its assessment (user error, attack, unclear): the
//! reason every decision carries, rendered as one sentence in English or
//! Japanese. A value of the decision, so it lives here; `account::assess`
//! computes it from the accounts' histories.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Assessment;
use crate::event::Name;

/// Why a decision got its assessment; renders as one sentence in English or
/// Japanese. Stored with the decision (as JSON), so alerts in either language
/// and the API say the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Why {
    /// Every source was one the account had logged in from.
    KnownSources { user: Name, ips: Vec<IpAddr> },
    /// A source the account never logged in from.
    NewSource { user: Name, ip: IpAddr },
    /// Failures against many accounts from one place.
    ManyAccounts { ip: Option<IpAddr>, users: usize },
    /// Failures from many places against one account.
    ManyAddresses { user: Name, ips: usize },
    /// The address is on a configured IP list.
    Listed { ip: IpAddr, list: Name },
    /// The address belongs to an anonymizing network.
    Anonymous { ip: IpAddr },
    /// Names that do not exist.
    UnknownNames { names: usize },
    /// No successful login of the account seen yet, and the address is one
    /// no account has ever logged in from.
    Stranger { user: Name, ip: IpAddr },
    /// No successful login of the account seen yet.
    NoHistory { user: Name },
    /// A success from a place new to the account: only the user can say.
    NewPlace { user: Name },
    /// An account-policy finding, not a login attempt.
    Policy,
    /// Many accounts locked within minutes (the safety breaker's alert).
    LockStorm,
    /// An admin decided it by hand (`decisions add`): who, and why they said.
    Manual { by: String, reason: String },
    /// Read back from text (`replay --json` output): the sentence only.
    Text { text: String },
}

impl Default for Why {
    /// Not assessed (decisions stored before assessments existed).
    fn default() -> Why {
        Why::Text {
            text: String::new(),
        }
    }
}

impl Why {
    /// The assessment this reason supports.
    pub fn assessment(&self) -> Assessment {
        match self {
            Why::KnownSources { .. } | Why::Policy => Assessment::UserError,
            Why::LockStorm
            | Why::NewSource { .. }
            | Why::ManyAccounts { .. }
            | Why::ManyAddresses { .. }
            | Why::Listed { .. }
            | Why::Anonymous { .. }
            | Why::UnknownNames { .. }
            | Why::Stranger { .. } => Assessment::Attack,
            Why::NoHistory { .. }
            | Why::NewPlace { .. }
            | Why::Manual { .. }
            | Why::Text { .. } => Assessment::Unclear,
        }
    }

    /// One sentence in English.
    pub fn sentence_en(&self) -> String {
        match self {
            Why::KnownSources { user, ips } => format!(
                "Every attempt came from {}, where {user} has logged in successfully before: the user's own mistakes.",
                list(ips)
            ),
            Why::NewSource { user, ip } => {
                format!("{ip} is an address {user} has never logged in from.")
            }
            Why::ManyAccounts { ip: Some(ip), users } => {
                format!("{ip} tried {users} different accounts: password spraying.")
            }
            Why::ManyAccounts { ip: None, users } => {
                format!("{users} different accounts were tried: password spraying.")
            }
            Why::ManyAddresses { user, ips } => format!(
                "{user} was tried from {ips} different addresses: a distributed attack."
            ),
            Why::Listed { ip, list } => format!("{ip} is on the IP list \"{list}\"."),
            Why::Anonymous { ip } => {
                format!("{ip} belongs to an anonymizing network (VPN, Tor, proxy or hosting).")
            }
            Why::UnknownNames { names } => {
                format!("The {names} names tried do not exist: someone is guessing accounts.")
            }
            Why::Stranger { user, ip } => format!(
                "{user} has no successful login on record, and no account here has ever logged in from {ip}."
            ),
            Why::NoHistory { user } => format!(
                "No successful login of {user} has been seen yet, so where the user usually logs in from is unknown."
            ),
            Why::NewPlace { user } => format!(
                "{user} logged in from somewhere new: only the user can confirm it was them."
            ),
            Why::Policy => "An account-policy finding; no login attack is involved.".to_string(),
            Why::LockStorm => "Many accounts were locked within minutes: someone may be using lockouts to shut users out.".to_string(),
            Why::Manual { by, reason } => format!("Decided by hand by {by}: {reason}"),
            Why::Text { text } => text.clone(),
        }
    }

    /// One sentence in Japanese.
    pub fn sentence_ja(&self) -> String {
        match self {
            Why::KnownSources { user, ips } => format!(
                "すべての試行が、{user} が過去にログインに成功した {} からのものです。利用者本人の入力ミスと考えられます。",
                list(ips)
            ),
            Why::NewSource { user, ip } => {
                format!("{ip} は {user} が一度もログインしたことのないアドレスです。")
            }
            Why::ManyAccounts { ip: Some(ip), users } => {
                format!("{ip} から {users} 個の異なるアカウントが試されました（パスワードスプレー）。")
            }
            Why::ManyAccounts { ip: None, users } => {
                format!("{users} 個の異なるアカウントが試されました（パスワードスプレー）。")
            }
            Why::ManyAddresses { user, ips } => {
                format!("{user} が {ips} 個の異なるアドレスから試されました（分散型攻撃）。")
            }
            Why::Listed { ip, list } => format!("{ip} は IP リスト「{list}」に含まれています。"),
            Why::Anonymous { ip } => format!(
                "{ip} は匿名化ネットワーク（VPN、Tor、プロキシ、ホスティング）のアドレスです。"
            ),
            Why::UnknownNames { names } => format!(
                "試された {names} 個の名前はどれも存在しないアカウントです。アカウント名を推測する攻撃です。"
            ),
            Why::Stranger { user, ip } => format!(
                "{user} のログイン成功の記録はなく、{ip} からはどのアカウントもログインしたことがありません。"
            ),
            Why::NoHistory { user } => format!(
                "{user} のログイン成功がまだ記録されていないため、普段の接続元が分かりません。"
            ),
            Why::NewPlace { user } => format!(
                "{user} が初めての場所からログインしました。本人かどうかは利用者にしか確認できません。"
            ),
            Why::Policy => "アカウントポリシーによる検出で、ログイン攻撃ではありません。".to_string(),
            Why::LockStorm => "短時間に多数のアカウントがロックされました。ロックを悪用して利用者を締め出す攻撃の可能性があります。".to_string(),
            Why::Manual { by, reason } => format!("{by} が手動で決定しました: {reason}"),
            Why::Text { text } => text.clone(),
        }
    }
}

/// `a, b and 2 more`.
fn list(ips: &[IpAddr]) -> String {
    let shown: Vec<String> = ips.iter().take(3).map(ToString::to_string).collect();
    match ips.len() {
        0 => "nowhere".to_string(),
        n if n > 3 => format!("{} (+{})", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}
