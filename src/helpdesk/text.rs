//! What `why` says, in English and Japanese: per cause, a short paragraph an
//! admin can read to the user on the phone, and the next step.
//!
//! Written as code rather than template files: every sentence depends on the
//! cause's evidence (counts, times, whether the sources were the user's own),
//! and a missing branch is a compile error here, not an empty line in front of
//! a user. User names and typed spellings are the caller's to escape when
//! printing to a terminal; the JSON carries them as they are.

use chrono::{DateTime, TimeZone, Utc};

use super::{Code, Evidence, LockedBy};
use crate::decision::{Assessment, Mode};

/// The language of `why`'s sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl Language {
    /// `en` or `ja`.
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "en" => Some(Language::En),
            "ja" => Some(Language::Ja),
            _ => None,
        }
    }
}

fn at(t: Option<i64>) -> String {
    t.and_then(|t| Utc.timestamp_opt(t, 0).single())
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn when(t: Option<DateTime<Utc>>) -> String {
    at(t.map(|t| t.timestamp()))
}

fn ips(ev: &Evidence) -> String {
    let v: Vec<String> = ev
        .source_ips
        .iter()
        .take(5)
        .map(|i| i.to_string())
        .collect();
    let more = ev.source_ips.len().saturating_sub(5);
    if more > 0 {
        format!("{} (+{more})", v.join(", "))
    } else {
        v.join(", ")
    }
}

/// `1 login`, `2 logins`.
fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 login was refused`, `2 logins were refused`.
fn refused(n: u32) -> String {
    plural(n, "login was refused", "logins were refused")
}

/// `(summary, next_step)` for `code` about `user`.
pub fn explain(lang: Language, user: &str, code: Code, ev: &Evidence) -> (String, String) {
    match lang {
        Language::En => en(user, code, ev),
        Language::Ja => ja(user, code, ev),
    }
}

/// The help text for a user fumbling a password (the product research's list).
pub const TYPING_HELP_EN: &str = "check Caps Lock and NumLock, switch the Japanese input (IME) off so nothing is typed full-width, watch for look-alike characters (0 and O, 1 and l), and type the password rather than pasting it (pasting adds stray spaces)";
/// The same in Japanese.
pub const TYPING_HELP_JA: &str = "Caps Lock・NumLock がオンになっていないか、日本語入力（IME）がオフで全角になっていないか、0（ゼロ）と O（オー）・1（イチ）と l（エル）を取り違えていないかを確認し、パスワードはコピー＆ペーストせず手で入力してください（貼り付けると余分な空白が入ることがあります）";

fn en(user: &str, code: Code, ev: &Evidence) -> (String, String) {
    let n = ev.count.unwrap_or(0);
    let own = ev.from_known_sources == Some(true);
    // Only a success from the user's own places is surely the user's.
    let then = ev
        .then_logged_in
        .map(|t| match own {
            true => format!(" The user then logged in successfully at {}.", at(Some(t))),
            false => format!(" A login then succeeded at {}.", at(Some(t))),
        })
        .unwrap_or_default();
    match code {
        Code::Locked => match ev.by {
            Some(LockedBy::Os) => {
                let (who, ends) = match ev.lock_module {
                    Some("pam_faillock") => ("pam_faillock", " or its unlock_time passes (10 minutes by default; never with unlock_time = 0)"),
                    Some("pam_tally2") => ("pam_tally2", " (pam_tally2 unlocks by itself only when an unlock_time is set)"),
                    _ => ("The system or the identity provider", ""),
                };
                let since = if n > 0 {
                    format!(" {} by it since {}.", refused(n), at(ev.first))
                } else {
                    String::new()
                };
                (
                    format!("{who} has locked {user}'s account after repeated failures. Every login is refused, even with the right password, until the lock is reset{ends}.{since}"),
                    format!("Confirm it is the user, then reset the lock: {}.", ev.unlock.clone().unwrap_or_default()),
                )
            }
            _ => {
                let what = match ev.blocked_ip {
                    Some(ip) => format!("The address {ip} the user connects from is blocked"),
                    None => format!("{user}'s account is locked"),
                };
                let rule = ev.rule.as_deref().unwrap_or("a rule");
                let mode = if matches!(ev.mode, Some(Mode::Recommend | Mode::Held)) {
                    " (recommended by loginwatch; enforce it or not as policy says)"
                } else {
                    ""
                };
                let end = match ev.until {
                    Some(u) => format!("It unlocks by itself at {}.", when(Some(u))),
                    None => "It stays until an admin unlocks it.".to_string(),
                };
                let kind = match ev.assessment {
                    Some(Assessment::UserError) => " The failures came from the user's own usual places: a typing problem, not an attack.",
                    Some(Assessment::Attack) => " The failures look like an attack on the account.",
                    _ => "",
                };
                (
                    format!("{what} by rule {rule}{mode}. {end}{kind}"),
                    match (ev.assessment, ev.until) {
                        (Some(Assessment::UserError), Some(_)) => format!("Tell the user to wait for the automatic unlock, or unlock now after confirming their identity: {}. Before the next try: {TYPING_HELP_EN}.", ev.unlock.clone().unwrap_or_default()),
                        (Some(Assessment::Attack), _) => format!("Reach the user by another channel before unlocking; if the password may be known, reset it. Unlock with: {}", ev.unlock.clone().unwrap_or_default()),
                        _ => format!("Confirm the user's identity, then unlock: {}", ev.unlock.clone().unwrap_or_default()),
                    },
                )
            }
        },
        Code::Disabled => match ev.status {
            Some("deleted") => (
                format!("{user}'s account has been removed from the directory."),
                "If the user should have access, ask the account administrator to restore or recreate the account.".to_string(),
            ),
            _ if ev.refused_by == Some("account_locked") => (
                format!("{user}'s system account is locked by an administrator (passwd -l or usermod -L): {}, even with the right password.{then}", refused(n)),
                format!("If the lock is not intended, unlock the account on the server: usermod -U {user} (or passwd -u {user})."),
            ),
            Some(_) => (
                format!("{user}'s account is suspended in the account directory (the inventory's status).{then}"),
                "Ask the account administrator whether the suspension is intended (leave, contract end, licence); re-enable the account in the directory or admin console if not.".to_string(),
            ),
            None => (
                format!("{user}'s account is disabled: {} since {}.{then}", refused(n), at(ev.first)),
                "Ask the account administrator whether the account was disabled on purpose (leave, contract end, licence); re-enable it in the directory or admin console if not.".to_string(),
            ),
        },
        Code::ExpiredAccount => (
            format!("{user}'s account has expired (its validity date has passed): {} since {}.{then}", refused(n), at(ev.first)),
            "Ask the account administrator to extend the account's expiry date (chage -E on Linux, or the directory's account expiry).".to_string(),
        ),
        Code::ExpiredPassword => {
            let change_now = "Tell the user to log in once from an interactive terminal (ssh) and set a new password at the prompt, or to use the password-change page; or reset it for them.".to_string();
            match (ev.must_change_now == Some(true), n) {
                (true, 0) => (
                    format!("{user}'s password has expired. The login is accepted, but the password must be changed before anything else works: programs without a terminal (scp, sftp, git, editors) are disconnected at once."),
                    change_now,
                ),
                (true, _) => (
                    format!("{user}'s password has expired: {} since {}, and a login that went through since must change it before anything else works.", refused(n), at(ev.first)),
                    change_now,
                ),
                (false, _) => (
                    format!("{user}'s password has expired: {} since {}.{then}", refused(n), at(ev.first)),
                    "Tell the user to change the password (on the password-change page, or at the prompt of an interactive login), or reset it for them.".to_string(),
                ),
            }
        }
        Code::Inactive => (
            format!("{user}'s logins are refused because the account has not been used for too long (pam_lastlog's inactive days, or the directory's inactivity policy): {} since {}.{then}", refused(n), at(ev.first)),
            format!("Confirm the user still needs access, then reactivate the account: on the server, lastlog --set --user {user} (pam_lastlog); in a directory, re-enable it."),
        ),
        Code::IpDenied => (
            format!("{user} tried to log in from {}, an address this account may not log in from (the service's IP restriction or network zone): {}.{then}", ips(ev), refused(n)),
            "Ask the user to connect from the office network or the VPN; if this address should be allowed, add it to the allowed list.".to_string(),
        ),
        Code::NoPermission => (
            format!("{user} has no permission to log in here ({}): {}.{then}", match ev.refused_by {
                Some("AllowUsers") => "sshd's AllowUsers does not list the user",
                Some("DenyUsers") => "sshd's DenyUsers lists the user",
                Some("AllowGroups") => "none of the user's groups is in sshd's AllowGroups",
                Some("DenyGroups") => "one of the user's groups is in sshd's DenyGroups",
                Some("no_group") => "the user is in no group that sshd allows",
                Some("shell") => "the login shell does not exist or is not executable",
                Some("PermitRootLogin") => "sshd's PermitRootLogin refuses root",
                _ => "not in an allowed group, in a denied group, or no valid shell",
            }, refused(n)),
            "Check the account's groups and shell against the server's AllowGroups/DenyGroups, or grant access to the service.".to_string(),
        ),
        Code::MfaFailed => {
            let skew = if ev.clock_skew_suspected == Some(true) {
                " A success followed within two minutes: the codes were probably right but the phone's clock is off."
            } else {
                ""
            };
            (
                format!("{user} entered {} (2-step verification) since {}.{skew}{then}", plural(n, "wrong one-time code", "wrong one-time codes"), at(ev.first)),
                if skew.is_empty() {
                    "Ask whether the code arrives and which authenticator app or phone is used; a new phone needs the authenticator re-registered.".to_string()
                } else {
                    "Ask the user to set the phone's date and time to automatic (network time), then try again.".to_string()
                },
            )
        }
        Code::MistypedLoginId => {
            let spelled: Vec<String> = ev
                .spellings
                .iter()
                .take(5)
                .map(|s| format!("\"{}\" ({}: {})", crate::escape::Escaped(&s.typed), plural(s.count, "time", "times"), mistakes_en(s)))
                .collect();
            (
                format!("{user} typed the login ID wrong {}: {}.{then}", plural(n, "time", "times"), spelled.join(", ")),
                format!("Tell the user the exact login ID \"{user}\", typed in half-width characters with the Japanese input off, without spaces before or after."),
            )
        }
        Code::WrongPassword => match ev.status {
            Some(status) => (
                format!("{} of {user} failed as wrong passwords since {}, but the account is {status} in the directory, and its logins fail whatever is typed.{then}", plural(n, "login", "logins"), at(ev.first)),
                "Deal with the account's status first (see the disabled cause); the password itself may well be right.".to_string(),
            ),
            None => (
                format!("{} for {user} since {}{}.{then}", plural(n, "wrong password", "wrong passwords"), at(ev.first), if own { ", all from places the user logs in from: the user's own typing" } else { "" }),
                if own {
                    format!("Ask the user to {TYPING_HELP_EN}; if the password is forgotten, reset it.")
                } else {
                    "Ask whether these attempts were the user's; if not, treat the account as targeted (see the other causes).".to_string()
                },
            ),
        },
        Code::UnderAttack => {
            let place = if ev.source_ips.len() == 1 {
                "an address the user has never logged in from"
            } else {
                "addresses the user has never logged in from"
            };
            let from = ips(ev).if_empty("unknown addresses");
            let tries = plural(ev.count.unwrap_or(0), "failed attempt", "failed attempts");
            match ev.then_logged_in {
                Some(t) => (
                    format!("Others are trying {user}'s account: {tries} from {from}, {place}, and a login from there succeeded at {}. The password is probably known to someone else.", at(Some(t))),
                    "Reset the password now and end the account's sessions; reach the user by another channel, turn on 2-step verification, and block the source addresses.".to_string(),
                ),
                None => (
                    format!("{tries} on {user}'s account came from {from}, {place}. Unless the user made them (from home, while travelling, on a new network), someone else is trying the account: the user is its target, not the cause."),
                    "Ask whether the user tried from there; if not, keep the account protected: make sure the password is strong and 2-step verification is on, and block or report the source addresses.".to_string(),
                ),
            }
        }
        Code::NewCountry => (
            format!("{} of {user} came from a country not seen before for this account ({}, from {}).", plural(n, "failed login", "failed logins"), ev.new_values.join(", "), ips(ev)),
            "Ask whether the user is travelling; an IP or country restriction may refuse logins from abroad (the VPN may be needed).".to_string(),
        ),
        Code::NewDevice => (
            format!("{} of {user} came from a device not seen before for this account ({}), at an address the user logs in from.", plural(n, "failed login", "failed logins"), ev.new_values.iter().map(|v| crate::escape::Escaped(v).to_string()).collect::<Vec<_>>().join(", ")),
            "A new phone or computer: make sure it is set up as the old one was (saved passwords, the authenticator app, and any device certificate or registration the service requires).".to_string(),
        ),
        Code::UnknownUser => (
            if ev.did_you_mean.is_empty() {
                format!("There is no account named \"{user}\" that loginwatch has seen log in.")
            } else {
                format!("There is no account named \"{user}\"; it looks like a mistyping of {}.", ev.did_you_mean.iter().map(|d| format!("\"{}\"", crate::escape::Escaped(d))).collect::<Vec<_>>().join(" or "))
            },
            "Check the exact login ID with the user (the full ID, half-width, no spaces), and ask `why` about that ID.".to_string(),
        ),
        Code::NoProblemSeen => (
            format!("Nothing in the logs explains a problem for {user}: no failures, no lock."),
            "Ask which service and device the user is logging in to, and when; the attempt may not reach this server (wrong address, network, or another system).".to_string(),
        ),
    }
}

trait IfEmpty {
    fn if_empty(self, other: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() {
            other.to_string()
        } else {
            self
        }
    }
}

fn mistakes_en(s: &super::SpellingView) -> String {
    let v: Vec<&str> = s.mistakes.iter().map(|m| m.describe_en()).collect();
    if v.is_empty() {
        "a different form of the same characters".to_string()
    } else {
        v.join("; ")
    }
}

fn mistakes_ja(s: &super::SpellingView) -> String {
    let v: Vec<&str> = s.mistakes.iter().map(|m| m.describe_ja()).collect();
    if v.is_empty() {
        "同じ文字の別の形".to_string()
    } else {
        v.join("、")
    }
}

fn ja(user: &str, code: Code, ev: &Evidence) -> (String, String) {
    let n = ev.count.unwrap_or(0);
    let then = ev
        .then_logged_in
        .map(|t| format!("その後 {} にログインに成功しています。", at(Some(t))))
        .unwrap_or_default();
    let own = ev.from_known_sources == Some(true);
    match code {
        Code::Locked => match ev.by {
            Some(LockedBy::Os) => {
                let since = if n > 0 {
                    format!("{} 以降 {n} 回のログインがこのロックで拒否されました。", at(ev.first))
                } else {
                    String::new()
                };
                let locked = match ev.lock_module {
                    Some("pam_faillock") => format!("pam_faillock が失敗の繰り返しにより {user} のアカウントをロックしています。ロックがリセットされるか unlock_time（既定 10 分。unlock_time = 0 なら自動解除なし）が過ぎるまで、正しいパスワードでもログインできません。"),
                    Some("pam_tally2") => format!("pam_tally2 が失敗の繰り返しにより {user} のアカウントをロックしています。リセットされるまで、正しいパスワードでもログインできません（自動で解除されるのは unlock_time を設定している場合のみです）。"),
                    _ => format!("失敗の繰り返しにより、システムまたは ID プロバイダーが {user} のアカウントをロックしています。解除されるまで、正しいパスワードでもログインできません。"),
                };
                (
                    format!("{locked}{since}"),
                    format!("本人確認のうえ、ロックを解除してください: {}", ev.unlock.clone().unwrap_or_default()),
                )
            }
            _ => {
                let what = match ev.blocked_ip {
                    Some(ip) => format!("利用者の接続元アドレス {ip} がブロックされています"),
                    None => format!("{user} のアカウントはロックされています"),
                };
                let rule = ev.rule.as_deref().unwrap_or("ルール");
                let mode = if matches!(ev.mode, Some(Mode::Recommend | Mode::Held)) {
                    "（loginwatch の推奨。実施するかは運用方針に従ってください）"
                } else {
                    ""
                };
                let end = match ev.until {
                    Some(u) => format!("{} に自動で解除されます。", when(Some(u))),
                    None => "管理者が解除するまで続きます。".to_string(),
                };
                let kind = match ev.assessment {
                    Some(Assessment::UserError) => "失敗はすべて利用者がいつも使う接続元からで、攻撃ではなく入力ミスと考えられます。",
                    Some(Assessment::Attack) => "失敗はアカウントへの攻撃と考えられます。",
                    _ => "",
                };
                (
                    format!("{what}（ルール {rule}）{mode}。{end}{kind}"),
                    match (ev.assessment, ev.until) {
                        (Some(Assessment::UserError), Some(_)) => format!("自動解除を待つよう伝えるか、本人確認のうえ今すぐ解除してください: {}。次に入力する前に: {TYPING_HELP_JA}。", ev.unlock.clone().unwrap_or_default()),
                        (Some(Assessment::Attack), _) => format!("解除の前に別の連絡手段で本人に確認し、パスワードが漏れた可能性があればリセットしてください。解除: {}", ev.unlock.clone().unwrap_or_default()),
                        _ => format!("本人確認のうえ解除してください: {}", ev.unlock.clone().unwrap_or_default()),
                    },
                )
            }
        },
        Code::Disabled => match ev.status {
            Some("deleted") => (
                format!("{user} のアカウントはディレクトリから削除されています。"),
                "利用が必要なら、アカウント管理者に復元または再作成を依頼してください。".to_string(),
            ),
            _ if ev.refused_by == Some("account_locked") => (
                format!("{user} のサーバー上のアカウントは管理者によってロックされています（passwd -l または usermod -L）。正しいパスワードでも {n} 回拒否されました。{then}"),
                format!("意図したロックでなければ、サーバーで解除してください: usermod -U {user}（または passwd -u {user}）。"),
            ),
            Some(_) => (
                format!("{user} のアカウントはディレクトリ（アカウント台帳）で停止中です。{then}"),
                "停止が意図したもの（休職、契約終了、ライセンス）か管理者に確認し、そうでなければ管理画面でアカウントを有効にしてください。".to_string(),
            ),
            None => (
                format!("{user} のアカウントは無効になっています。{} 以降 {n} 回のログインが拒否されました。{then}", at(ev.first)),
                "無効化が意図したもの（休職、契約終了、ライセンス）か管理者に確認し、そうでなければ管理画面でアカウントを有効にしてください。".to_string(),
            ),
        },
        Code::ExpiredAccount => (
            format!("{user} のアカウントは有効期限が切れています。{} 以降 {n} 回のログインが拒否されました。{then}", at(ev.first)),
            "アカウント管理者にアカウントの有効期限の延長を依頼してください（Linux では chage -E）。".to_string(),
        ),
        Code::ExpiredPassword => {
            let change_now = "一度、端末（ssh）から対話的にログインして表示に従い新しいパスワードを設定するか、パスワード変更ページで変更するよう伝えてください。管理者がリセットしても構いません。".to_string();
            match (ev.must_change_now == Some(true), n) {
                (true, 0) => (
                    format!("{user} のパスワードは有効期限が切れています。ログインは受け付けられますが、先にパスワードを変更しないと何もできません（端末のないプログラム、scp・sftp・git・エディターなどはすぐに切断されます）。"),
                    change_now,
                ),
                (true, _) => (
                    format!("{user} のパスワードは有効期限が切れています。{} 以降 {n} 回のログインが拒否され、その後に通ったログインでも先にパスワードの変更が必要です。", at(ev.first)),
                    change_now,
                ),
                (false, _) => (
                    format!("{user} のパスワードは有効期限が切れています。{} 以降 {n} 回のログインが拒否されました。{then}", at(ev.first)),
                    "パスワード変更ページで変更するよう伝えるか、管理者がリセットしてください。".to_string(),
                ),
            }
        }
        Code::Inactive => (
            format!("{user} のアカウントは長期間使われていないため、ログインが拒否されています（pam_lastlog の inactive 日数、またはディレクトリの非アクティブ ポリシー）。{} 以降 {n} 回拒否されました。{then}", at(ev.first)),
            format!("利用が必要か確認し、アカウントを再度有効にしてください（サーバーでは lastlog --set --user {user}（pam_lastlog）、ディレクトリでは再有効化）。"),
        ),
        Code::IpDenied => (
            format!("{user} はこのアカウントに許可されていないアドレス {} からログインしようとしました（サービスの IP 制限またはネットワークゾーン）。{n} 回拒否されました。{then}", ips(ev)),
            "社内ネットワークまたは VPN から接続するよう伝えてください。このアドレスを許可すべきなら許可リストに追加してください。".to_string(),
        ),
        Code::NoPermission => (
            format!("{user} にはこのサーバーへのログイン権限がありません（{}）。{n} 回拒否されました。{then}", match ev.refused_by {
                Some("AllowUsers") => "sshd の AllowUsers に含まれていません",
                Some("DenyUsers") => "sshd の DenyUsers に含まれています",
                Some("AllowGroups") => "所属グループが sshd の AllowGroups にありません",
                Some("DenyGroups") => "所属グループが sshd の DenyGroups にあります",
                Some("no_group") => "sshd が許可するグループに所属していません",
                Some("shell") => "ログインシェルが存在しないか実行できません",
                Some("PermitRootLogin") => "sshd の PermitRootLogin が root を拒否しています",
                _ => "許可グループ外、拒否グループ、または有効なシェルがない",
            }),
            "アカウントのグループとシェルを AllowGroups/DenyGroups と照合するか、サービスへのアクセス権を付与してください。".to_string(),
        ),
        Code::MfaFailed => {
            let skew = if ev.clock_skew_suspected == Some(true) {
                "2 分以内に成功しているため、コードは正しくスマートフォンの時計がずれている可能性があります。"
            } else {
                ""
            };
            (
                format!("{user} は {} 以降、2 段階認証の確認コードを {n} 回間違えました。{skew}{then}", at(ev.first)),
                if skew.is_empty() {
                    "コードが届いているか、どの認証アプリ・スマートフォンを使っているかを確認してください。機種変更した場合は認証アプリの再登録が必要です。".to_string()
                } else {
                    "スマートフォンの日付と時刻を「自動設定」にしてから再度試すよう伝えてください。".to_string()
                },
            )
        }
        Code::MistypedLoginId => {
            let spelled: Vec<String> = ev
                .spellings
                .iter()
                .take(5)
                .map(|s| format!("「{}」（{} 回: {}）", crate::escape::Escaped(&s.typed), s.count, mistakes_ja(s)))
                .collect();
            (
                format!("{user} はログイン ID を {n} 回打ち間違えています: {}。{then}", spelled.join("、")),
                format!("正しいログイン ID「{user}」を、日本語入力をオフにした半角で、前後に空白を入れずに入力するよう伝えてください。"),
            )
        }
        Code::WrongPassword => match ev.status {
            Some(status) => (
                format!("{} 以降、{user} のログインが {n} 回パスワード誤りとして失敗しましたが、アカウントはディレクトリで{}のため、どのパスワードを入力しても失敗します。{then}", at(ev.first), if status == "deleted" { "削除済み" } else { "停止中" }),
                "まずアカウントの状態に対処してください（停止の原因を参照）。パスワード自体は正しい可能性があります。".to_string(),
            ),
            None => (
                format!("{user} のパスワード誤りが {} 以降 {n} 回ありました。{}{then}", at(ev.first), if own { "すべて利用者がいつも使う接続元からで、本人の入力ミスと考えられます。" } else { "" }),
                if own {
                    format!("{TYPING_HELP_JA}。パスワードを忘れた場合はリセットしてください。")
                } else {
                    "これらの試行が本人のものか確認してください。違う場合はアカウントが狙われています（他の原因を参照）。".to_string()
                },
            ),
        },
        Code::UnderAttack => match ev.then_logged_in {
            Some(t) => (
                format!("{user} のアカウントが他者に狙われています。本人が一度も使ったことのないアドレス {} から {} 回の失敗があり、{} にそこからのログインが成功しました。パスワードが第三者に知られている可能性が高いです。", ips(ev).if_empty("（不明）"), ev.count.unwrap_or(0), at(Some(t))),
                "すぐにパスワードをリセットしてセッションを終了させ、別の連絡手段で本人に連絡し、2 段階認証を有効にし、接続元アドレスをブロックしてください。".to_string(),
            ),
            None => (
                format!("{user} のアカウントに対し、本人が一度もログインしたことのないアドレス {} から {} 回の失敗がありました。本人の試行（自宅、出張先、新しいネットワークから）でなければ、他者がアカウントを狙っています。利用者は原因ではなく標的です。", ips(ev).if_empty("（不明）"), ev.count.unwrap_or(0)),
                "本人がそこから試したか確認してください。違う場合はアカウントの保護を続け、パスワードが十分に強く 2 段階認証が有効か確認し、接続元アドレスをブロックまたは報告してください。".to_string(),
            ),
        },
        Code::NewCountry => (
            format!("{user} のログインが、このアカウントでこれまでにない国（{}、{} から）で {n} 回失敗しています。", ev.new_values.join("、"), ips(ev)),
            "出張中かどうか確認してください。IP や国の制限で海外からのログインが拒否されることがあります（VPN が必要な場合があります）。".to_string(),
        ),
        Code::NewDevice => (
            format!("{user} のログインが、いつもの接続元で、これまでにない端末（{}）から {n} 回失敗しています。", ev.new_values.iter().map(|v| crate::escape::Escaped(v).to_string()).collect::<Vec<_>>().join("、")),
            "機種変更や新しいパソコンの可能性があります。保存したパスワード、認証アプリ、サービスが求める端末証明書や端末登録が新しい端末に移行されているか確認してください。".to_string(),
        ),
        Code::UnknownUser => (
            if ev.did_you_mean.is_empty() {
                format!("「{user}」という名前のアカウントのログインは確認されていません。")
            } else {
                format!("「{user}」というアカウントはありません。{}の打ち間違いと思われます。", ev.did_you_mean.iter().map(|d| format!("「{}」", crate::escape::Escaped(d))).collect::<Vec<_>>().join("または"))
            },
            "正しいログイン ID（全体、半角、空白なし）を利用者と確認し、その ID について `why` を実行してください。".to_string(),
        ),
        Code::NoProblemSeen => (
            format!("ログには {user} の問題を示すもの（失敗、ロック）が見つかりません。"),
            "どのサービス・端末からいつログインしようとしているか確認してください。このサーバーに届いていない可能性があります（接続先の誤り、ネットワーク、別のシステム）。".to_string(),
        ),
    }
}
