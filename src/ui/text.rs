//! The page's words in English and Japanese, from one table, and the choice
//! of language: `?lang=` (then remembered in a cookie), else the cookie, else
//! the browser's `Accept-Language`, else English.
//!
//! `why`'s own sentences (causes, next steps) come from [`crate::helpdesk`]
//! in the same language; this table holds only the page's labels.

use std::collections::BTreeMap;

use crate::decision::Assessment;
use crate::helpdesk::Language;

/// Key, English, Japanese. A key the templates use and the table lacks
/// renders as nothing, so the test below checks the templates' keys.
const TABLE: &[(&str, &str, &str)] = &[
    ("title", "loginwatch helpdesk", "loginwatch ヘルプデスク"),
    ("sign_in", "Sign in", "サインイン"),
    ("sign_out", "Sign out", "サインアウト"),
    ("token", "Admin token", "管理トークン"),
    (
        "your_name",
        "Your name (for the audit trail)",
        "お名前（監査ログに記録されます）",
    ),
    (
        "wrong_token",
        "Wrong admin token or name.",
        "管理トークンまたは名前が正しくありません。",
    ),
    (
        "form_expired",
        "The form expired: sign in again.",
        "フォームの有効期限が切れました。もう一度サインインしてください。",
    ),
    (
        "too_many",
        "Too many failed sign-ins: wait a minute.",
        "サインインの失敗が多すぎます。1分ほど待ってください。",
    ),
    ("search", "Find a user", "ユーザーを検索"),
    ("search_button", "Search", "検索"),
    (
        "search_hint",
        "Typing variants are found too (ａｌｉｃｅ, Alice, a1ice).",
        "入力の揺れも見つかります（ａｌｉｃｅ、Alice、a1ice）。",
    ),
    ("results", "Accounts", "アカウント"),
    (
        "no_results",
        "No account by that name or a likely mistyping of it.",
        "その名前、またはその打ち間違いと思われるアカウントはありません。",
    ),
    ("locks", "Active locks", "有効なロック"),
    (
        "no_locks",
        "No lock is in force.",
        "有効なロックはありません。",
    ),
    ("filter", "Show", "表示"),
    ("all", "All", "すべて"),
    ("when", "Since", "開始"),
    ("target", "Who", "対象"),
    ("rule", "Rule", "ルール"),
    ("until", "Until", "終了"),
    (
        "until_admin",
        "until an admin unlocks",
        "管理者が解除するまで",
    ),
    ("assessment", "Assessment", "判定"),
    ("mode", "Mode", "モード"),
    ("action", "Action", "措置"),
    ("user_error", "User error", "ユーザーの入力ミス"),
    ("attack", "Attack", "攻撃"),
    ("unclear", "Unclear", "不明"),
    ("recommend", "recommended (not enforced)", "推奨（未実施）"),
    ("enforce", "enforced", "実施中"),
    ("held", "held (lockout storm)", "保留（大量ロック）"),
    (
        "causes",
        "Why this user cannot log in",
        "ログインできない理由",
    ),
    ("next_step", "Next step", "次の対応"),
    ("state", "Account state", "アカウントの状態"),
    (
        "not_locked",
        "No loginwatch lock is in force on this account.",
        "このアカウントに有効な loginwatch のロックはありません。",
    ),
    ("unlock", "Unlock", "ロック解除"),
    (
        "unlock_here",
        "the Unlock button under Account state below, with a reason",
        "下の「アカウントの状態」にある「ロック解除」ボタン（理由を記入）",
    ),
    ("reason", "Reason (required)", "理由（必須）"),
    ("unlocked", "Unlocked.", "ロックを解除しました。"),
    ("audit", "Audit trail", "監査ログ"),
    ("what", "What", "内容"),
    ("who", "By", "実施者"),
    ("detail", "Detail", "詳細"),
    ("back", "Back to the list", "一覧に戻る"),
    ("language", "Language", "言語"),
    (
        "bad_request",
        "The request was refused",
        "リクエストは拒否されました",
    ),
    ("time_zone", "Time zone", "タイムゾーン"),
    ("apply", "Apply", "適用"),
    ("timeline", "Last attempts", "最近のログイン試行"),
    (
        "no_attempts",
        "loginwatch has seen no attempt of this account.",
        "このアカウントのログイン試行はまだ記録されていません。",
    ),
    ("time", "Time", "日時"),
    ("reason_col", "Reason", "理由"),
    ("outcome", "Result", "結果"),
    ("success", "Success", "成功"),
    ("failure", "Failure", "失敗"),
    ("unknown", "Unknown", "不明"),
    ("address", "Address", "接続元"),
    ("device", "Device", "端末"),
    ("service", "Service", "サービス"),
    ("typed_as", "Typed as", "入力されたID"),
    (
        "known_place",
        "a place this account logs in from",
        "いつもの接続元",
    ),
    ("new_place", "new place", "新しい接続元"),
    ("a_login", "login", "ログイン"),
    ("a_mfa", "MFA", "多要素認証"),
    ("a_password_change", "password change", "パスワード変更"),
    ("a_password_reset", "password reset", "パスワードリセット"),
    ("a_lockout", "locked by the system", "システムによるロック"),
    (
        "a_unlock",
        "unlocked by the system",
        "システムによるロック解除",
    ),
    ("r_bad_password", "wrong password", "パスワード誤り"),
    (
        "r_unknown_user",
        "unknown user name",
        "存在しないユーザー名",
    ),
    ("r_locked", "account locked", "アカウントロック中"),
    ("r_disabled", "account disabled", "アカウント無効"),
    (
        "r_expired_password",
        "password expired",
        "パスワード期限切れ",
    ),
    ("r_expired_account", "account expired", "アカウント期限切れ"),
    ("r_mfa_failed", "MFA failed", "多要素認証の失敗"),
    (
        "r_ip_denied",
        "address not allowed",
        "許可されていない接続元",
    ),
    ("r_no_permission", "no permission", "権限なし"),
    ("r_cert_failed", "certificate refused", "証明書の拒否"),
    ("r_too_many_attempts", "too many attempts", "試行回数超過"),
    ("r_other", "other", "その他"),
    ("r_inactive", "account inactive too long", "長期間未使用"),
    (
        "chart",
        "Attempts per hour, last 7 days",
        "1時間ごとのログイン試行（過去7日間）",
    ),
    ("failures", "Failures", "失敗"),
    ("successes", "Successes", "成功"),
    ("from_to", "to", "～"),
    ("numbers", "The numbers, hour by hour", "時間ごとの件数"),
    ("hour", "Hour", "時間帯"),
    (
        "no_chart",
        "No login attempt in the last 7 days.",
        "過去7日間にログイン試行はありません。",
    ),
    (
        "locked_by_rule",
        "Locked by loginwatch",
        "loginwatch によるロック",
    ),
    (
        "locked_by_os",
        "Locked by the system",
        "システム（OS）によるロック",
    ),
    (
        "os_lock_hint",
        "loginwatch did not set this lock and cannot lift it: run this on the host (as root), after confirming the user's identity.",
        "このロックは loginwatch ではなくシステムが設定したもので、ここからは解除できません。本人確認の後、ホスト上で（root として）次のコマンドを実行してください。",
    ),
    ("lock_module", "Held by", "ロック元"),
    ("command", "Command", "コマンド"),
    (
        "address_blocks",
        "Blocked addresses this user connects from",
        "このユーザーの接続元でブロック中のアドレス",
    ),
    (
        "address_block_hint",
        "The lock is on the address, not the account: everyone connecting from it is refused.",
        "アカウントではなく接続元アドレスへのブロックです。このアドレスからの接続はすべて拒否されます。",
    ),
    (
        "unlock_address",
        "Unblock the address",
        "アドレスのブロックを解除",
    ),
];

/// The page's words in `lang`, by key (what templates read as `t.key`).
pub fn words(lang: Language) -> BTreeMap<&'static str, &'static str> {
    TABLE
        .iter()
        .map(|(k, en, ja)| (*k, if lang == Language::Ja { *ja } else { *en }))
        .collect()
}

/// One word by key (for messages outside templates); the key itself if absent.
pub fn word(lang: Language, key: &'static str) -> &'static str {
    words(lang).get(key).copied().unwrap_or(key)
}

/// The table key of an assessment's label.
pub fn assessment_key(a: Assessment) -> &'static str {
    a.as_str()
}

/// `en` or `ja`.
pub fn code(lang: Language) -> &'static str {
    match lang {
        Language::En => "en",
        Language::Ja => "ja",
    }
}

/// The language an `Accept-Language` value prefers among ours: the highest
/// `q` wins, the first listed on a tie; English when neither is listed.
pub fn from_accept(header: &str) -> Language {
    let mut best: Option<(f32, Language)> = None;
    for part in header.split(',') {
        let mut fields = part.split(';');
        let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or("");
        let Some(lang) = Language::parse(primary) else {
            continue;
        };
        let q = fields
            .find_map(|f| f.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Language::En, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(from_accept("ja"), Language::Ja);
        assert_eq!(from_accept("ja-JP,ja;q=0.9,en-US;q=0.8"), Language::Ja);
        assert_eq!(from_accept("en-US,en;q=0.9,ja;q=0.8"), Language::En);
        assert_eq!(from_accept("fr, ja;q=0.5"), Language::Ja);
        assert_eq!(from_accept("fr"), Language::En);
        assert_eq!(from_accept("ja;q=0, en;q=0.1"), Language::En);
        assert_eq!(from_accept(""), Language::En);
        assert_eq!(from_accept(";;,q=,ja;q=x"), Language::Ja);
    }

    #[test]
    fn the_table_has_each_key_once_in_both_languages_and_the_templates_use_only_its_keys() {
        let mut keys = std::collections::BTreeSet::new();
        for (k, en, ja) in TABLE {
            assert!(keys.insert(*k), "{k} twice");
            assert!(!en.is_empty() && !ja.is_empty(), "{k}");
        }
        // Keys chosen at run time (`t[error]`, `t[l.mode]`).
        for k in [
            "form_expired",
            "too_many",
            "wrong_token",
            "recommend",
            "enforce",
            "held",
            "success",
            "failure",
            "unknown",
        ] {
            assert!(keys.contains(k), "{k}");
        }
        for a in [
            Assessment::UserError,
            Assessment::Attack,
            Assessment::Unclear,
        ] {
            assert!(keys.contains(assessment_key(a)));
        }
        // `t["r_" ~ reason]`, `t["a_" ~ action]` in the timeline.
        for r in crate::event::Reason::ALL {
            assert!(keys.contains(format!("r_{r}").as_str()), "r_{r}");
        }
        for a in crate::event::Action::ALL {
            assert!(keys.contains(format!("a_{a}").as_str()), "a_{a}");
        }
        for (name, src) in super::super::render::TEMPLATES {
            for (i, _) in src.match_indices("t.") {
                let rest = &src[i + 2..];
                let key: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `t.` inside another identifier (`at.`) is not a lookup.
                let before = src[..i].chars().last();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                assert!(keys.contains(key.as_str()), "{name} uses t.{key}");
            }
        }
    }
}
