//! What `why` says in Japanese, per cause: the same facts as the English
//! text, worded for a Japanese help desk.

use chrono_tz::Tz;

use super::{IfEmpty, TYPING_HELP_JA, at, ips, when};
use crate::decision::{Assessment, Mode};
use crate::helpdesk::{Code, Evidence, LockedBy, SpellingView};

fn mistakes_ja(s: &SpellingView) -> String {
    let v: Vec<&str> = s.mistakes.iter().map(|m| m.describe_ja()).collect();
    if v.is_empty() {
        "同じ文字の別の形".to_string()
    } else {
        v.join("、")
    }
}

pub(super) fn ja(z: Tz, user: &str, code: Code, ev: &Evidence) -> (String, String) {
    let n = ev.count.unwrap_or(0);
    let then = ev
        .then_logged_in
        .map(|t| format!("その後 {} にログインに成功しています。", at(z, Some(t))))
        .unwrap_or_default();
    let own = ev.from_known_sources == Some(true);
    match code {
        Code::Locked => match ev.by {
            Some(LockedBy::Os) => {
                let since = if n > 0 {
                    format!("{} 以降 {n} 回のログインがこのロックで拒否されました。", at(z, ev.first))
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
                    Some(u) => format!("{} に自動で解除されます。", when(z, Some(u))),
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
                format!("{user} のアカウントは無効になっています。{} 以降 {n} 回のログインが拒否されました。{then}", at(z, ev.first)),
                "無効化が意図したもの（休職、契約終了、ライセンス）か管理者に確認し、そうでなければ管理画面でアカウントを有効にしてください。".to_string(),
            ),
        },
        Code::ExpiredAccount => (
            format!("{user} のアカウントは有効期限が切れています。{} 以降 {n} 回のログインが拒否されました。{then}", at(z, ev.first)),
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
                    format!("{user} のパスワードは有効期限が切れています。{} 以降 {n} 回のログインが拒否され、その後に通ったログインでも先にパスワードの変更が必要です。", at(z, ev.first)),
                    change_now,
                ),
                (false, _) => (
                    format!("{user} のパスワードは有効期限が切れています。{} 以降 {n} 回のログインが拒否されました。{then}", at(z, ev.first)),
                    "パスワード変更ページで変更するよう伝えるか、管理者がリセットしてください。".to_string(),
                ),
            }
        }
        Code::Inactive => (
            format!("{user} のアカウントは長期間使われていないため、ログインが拒否されています（pam_lastlog の inactive 日数、またはディレクトリの非アクティブ ポリシー）。{} 以降 {n} 回拒否されました。{then}", at(z, ev.first)),
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
                format!("{user} は {} 以降、2 段階認証の確認コードを {n} 回間違えました。{skew}{then}", at(z, ev.first)),
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
                format!("{} 以降、{user} のログインが {n} 回パスワード誤りとして失敗しましたが、アカウントはディレクトリで{}のため、どのパスワードを入力しても失敗します。{then}", at(z, ev.first), if status == "deleted" { "削除済み" } else { "停止中" }),
                "まずアカウントの状態に対処してください（停止の原因を参照）。パスワード自体は正しい可能性があります。".to_string(),
            ),
            None => (
                format!("{user} のパスワード誤りが {} 以降 {n} 回ありました。{}{then}", at(z, ev.first), if own { "すべて利用者がいつも使う接続元からで、本人の入力ミスと考えられます。" } else { "" }),
                if own {
                    format!("{TYPING_HELP_JA}。パスワードを忘れた場合はリセットしてください。")
                } else {
                    "これらの試行が本人のものか確認してください。違う場合はアカウントが狙われています（他の原因を参照）。".to_string()
                },
            ),
        },
        Code::UnderAttack => match ev.then_logged_in {
            Some(t) => (
                format!("{user} のアカウントが他者に狙われています。本人が一度も使ったことのないアドレス {} から {} 回の失敗があり、{} にそこからのログインが成功しました。パスワードが第三者に知られている可能性が高いです。", ips(ev).if_empty("（不明）"), ev.count.unwrap_or(0), at(z, Some(t))),
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
