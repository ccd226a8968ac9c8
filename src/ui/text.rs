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
