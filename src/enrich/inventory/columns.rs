//! Which column (CSV header or JSON key) holds which account field.
//!
//! Exports differ by product and language: Active Directory writes
//! `sAMAccountName`, a SaaS console `ログイン名` or `User ID`. Each field has a
//! list of aliases; a header matches an alias after normalization (Unicode
//! lower case, spaces, `_`, `-` and `.` removed, so `Last Login At`,
//! `last_login_at` and `lastLoginAt` are one name). The defaults cover common
//! English and Japanese names; [`ColumnMap::set`] replaces a field's aliases, so a
//! real export with other headers needs a configuration change, not a code change.

use std::fmt;

/// An account field the inventory reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    User,
    Email,
    DisplayName,
    Status,
    Admin,
    Groups,
    PasswordChangedAt,
    LastLoginAt,
    Exempt,
}

impl Field {
    /// Every field, in column-map order.
    pub const ALL: [Field; 9] = [
        Field::User,
        Field::Email,
        Field::DisplayName,
        Field::Status,
        Field::Admin,
        Field::Groups,
        Field::PasswordChangedAt,
        Field::LastLoginAt,
        Field::Exempt,
    ];

    /// The name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::User => "user",
            Field::Email => "email",
            Field::DisplayName => "display_name",
            Field::Status => "status",
            Field::Admin => "admin",
            Field::Groups => "groups",
            Field::PasswordChangedAt => "password_changed_at",
            Field::LastLoginAt => "last_login_at",
            Field::Exempt => "exempt",
        }
    }

    /// Parses what [`Self::as_str`] produces.
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The built-in aliases (already in any spelling; they are normalized on use).
    fn default_aliases(self) -> &'static [&'static str] {
        match self {
            Field::User => &[
                "user",
                "user name",
                "login",
                "login name",
                "login id",
                "user id",
                "userid",
                "account",
                "account name",
                "sAMAccountName",
                "uid",
                "ユーザー名",
                "ユーザ名",
                "ログイン名",
                "ログインID",
                "ユーザーID",
                "アカウント",
                "アカウント名",
            ],
            Field::Email => &[
                "email",
                "e-mail",
                "mail",
                "email address",
                "e-mail address",
                "userPrincipalName",
                "メールアドレス",
                "メール",
            ],
            Field::DisplayName => &[
                "display name",
                "name",
                "full name",
                "表示名",
                "氏名",
                "名前",
                "表示名（姓名）",
            ],
            Field::Status => &[
                "status",
                "state",
                "account status",
                "状態",
                "ステータス",
                "利用状態",
                "アカウント状態",
            ],
            Field::Admin => &["admin", "is admin", "administrator", "管理者", "管理者権限"],
            Field::Groups => &["groups", "group", "memberOf", "グループ", "所属グループ"],
            Field::PasswordChangedAt => &[
                "password changed at",
                "password changed",
                "password last set",
                "pwdLastSet",
                "password last changed",
                "パスワード変更日時",
                "パスワード変更日",
                "パスワード最終変更日時",
            ],
            Field::LastLoginAt => &[
                "last login at",
                "last login",
                "last logon",
                "lastLogonTimestamp",
                "last sign in",
                "last sign-in",
                "最終ログイン日時",
                "最終ログイン",
            ],
            Field::Exempt => &["exempt", "除外", "監視除外"],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header as compared: lower case, without blanks and `_ - .`.
pub fn normalize(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '_' | '-' | '.')))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Aliases per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// Normalized aliases, indexed by `Field as usize`.
    aliases: [Vec<String>; 9],
}

impl Default for ColumnMap {
    fn default() -> ColumnMap {
        ColumnMap {
            aliases: Field::ALL.map(|f| f.default_aliases().iter().map(|a| normalize(a)).collect()),
        }
    }
}

impl ColumnMap {
    /// Replaces the aliases of `field` (e.g. `set(Field::User, &["社員番号"])`).
    pub fn set<S: AsRef<str>>(&mut self, field: Field, aliases: &[S]) {
        self.aliases[field.index()] = aliases.iter().map(|a| normalize(a.as_ref())).collect();
    }

    /// Adds one alias to `field`, keeping the others.
    pub fn add(&mut self, field: Field, alias: &str) {
        self.aliases[field.index()].push(normalize(alias));
    }

    /// The field a header names, if any. An alias given to two fields goes to
    /// the first in [`Field::ALL`] order.
    pub fn field_of(&self, header: &str) -> Option<Field> {
        let h = normalize(header);
        Field::ALL
            .into_iter()
            .find(|f| self.aliases[f.index()].contains(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_header_match() {
        let m = ColumnMap::default();
        for h in [
            "Last Login At",
            "last_login_at",
            "lastLoginAt",
            " LAST-LOGIN ",
        ] {
            assert_eq!(m.field_of(h), Some(Field::LastLoginAt), "{h}");
        }
        assert_eq!(m.field_of("\u{feff}ユーザー名"), Some(Field::User));
        assert_eq!(m.field_of("最終ログイン日時"), Some(Field::LastLoginAt));
        assert_eq!(m.field_of("department"), None);
    }

    #[test]
    fn default_aliases_belong_to_one_field_each() {
        let m = ColumnMap::default();
        for f in Field::ALL {
            for a in &m.aliases[f.index()] {
                assert_eq!(m.field_of(a), Some(f), "{a} is claimed by two fields");
            }
        }
    }

    #[test]
    fn set_replaces_and_add_extends() {
        let mut m = ColumnMap::default();
        m.set(Field::User, &["社員番号"]);
        assert_eq!(m.field_of("社員番号"), Some(Field::User));
        assert_eq!(m.field_of("user"), None);
        m.add(Field::User, "login");
        assert_eq!(m.field_of("Login"), Some(Field::User));
        assert_eq!(Field::parse("last_login_at"), Some(Field::LastLoginAt));
    }
}
