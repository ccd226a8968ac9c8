//! Argument, URL and body templates of enforcement actions: literal text with
//! `{user}`, `{ip}`, `{until}`, `{seconds}`, `{rule}`, `{id}`, `{severity}`.
//!
//! Parsed once, when the configuration is loaded, so that an unknown placeholder
//! is a configuration error and never a surprise at the first lock. Rendering is
//! a plain substitution into a typed [`Values`]; how a value is encoded (as is
//! for argv, percent-encoded for a URL, JSON-escaped for a body) is the caller's
//! choice through [`Encoding`]. Hand-written rather than `minijinja`: the grammar
//! is seven names and `{{`/`}}`, and no logic may ever run inside an action
//! template (a loop or a filter there would be a place for an attacker's value to
//! change the command's shape).

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// A value a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    User,
    Ip,
    Until,
    Seconds,
    Rule,
    Id,
    Severity,
}

impl Var {
    /// Every placeholder name, for error messages.
    pub const ALL: &'static [&'static str] =
        &["user", "ip", "until", "seconds", "rule", "id", "severity"];

    fn parse(s: &str) -> Option<Var> {
        Some(match s {
            "user" => Var::User,
            "ip" => Var::Ip,
            "until" => Var::Until,
            "seconds" => Var::Seconds,
            "rule" => Var::Rule,
            "id" => Var::Id,
            "severity" => Var::Severity,
            _ => return None,
        })
    }

    /// The placeholder's name.
    pub fn as_str(self) -> &'static str {
        Var::ALL[self as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    source: String,
}

/// How substituted values are encoded (literal text is never touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As is: one argv element, never seen by a shell.
    Raw,
    /// Percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`), for URLs.
    Url,
    /// The inside of a JSON string (quotes, backslashes, controls escaped).
    Json,
}

/// The values of one decision, already validated (see [`super::validate`]).
/// `None` means the decision has no such value: a template naming it is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub user: Option<String>,
    pub ip: Option<String>,
    pub until: Option<String>,
    pub seconds: Option<String>,
    pub rule: Option<String>,
    pub id: Option<String>,
    pub severity: Option<String>,
}

impl Values {
    fn get(&self, v: Var) -> Option<&str> {
        match v {
            Var::User => self.user.as_deref(),
            Var::Ip => self.ip.as_deref(),
            Var::Until => self.until.as_deref(),
            Var::Seconds => self.seconds.as_deref(),
            Var::Rule => self.rule.as_deref(),
            Var::Id => self.id.as_deref(),
            Var::Severity => self.severity.as_deref(),
        }
    }
}

/// Characters kept as they are in a URL value (RFC 3986 unreserved).
const URL_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl Template {
    /// Parses `{name}` placeholders; `{{` and `}}` are literal braces.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("template {s:?}: unclosed '{{'")),
                        }
                    }
                    let var = Var::parse(&name).ok_or_else(|| {
                        format!(
                            "template {s:?}: unknown placeholder {{{name}}}: expected one of {} \
                             (write {{{{ and }}}} for literal braces)",
                            Var::ALL.join(", ")
                        )
                    })?;
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(var));
                }
                '}' => {
                    return Err(format!(
                        "template {s:?}: a lone '}}' (write }}}} for a literal brace)"
                    ));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template {
            parts,
            source: s.to_owned(),
        })
    }

    /// Whether the template names `v`.
    pub fn uses(&self, v: Var) -> bool {
        self.parts.contains(&Part::Var(v))
    }

    /// The placeholders it names, in order.
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(*v),
            Part::Lit(_) => None,
        })
    }

    /// Substitutes `values`; `Err(var)` when the decision lacks a named value.
    pub fn render(&self, values: &Values, enc: Encoding) -> Result<String, Var> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Var(v) => {
                    let val = values.get(*v).ok_or(*v)?;
                    match enc {
                        Encoding::Raw => out.push_str(val),
                        Encoding::Url => out.extend(utf8_percent_encode(val, URL_KEEP)),
                        Encoding::Json => json_inner(&mut out, val),
                    }
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Appends `s` as the inside of a JSON string.
fn json_inner(out: &mut String, s: &str) {
    // serde_json's string form is exactly the escaping wanted; strip its quotes.
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals() -> Values {
        Values {
            user: Some("山田 a/b\"".into()),
            ip: Some("192.0.2.1".into()),
            ..Values::default()
        }
    }

    #[test]
    fn placeholders_render_per_encoding() {
        let t = Template::parse("u={user} ip={ip} {{x}}").unwrap();
        assert_eq!(
            t.render(&vals(), Encoding::Raw).unwrap(),
            "u=山田 a/b\" ip=192.0.2.1 {x}"
        );
        assert_eq!(
            t.render(&vals(), Encoding::Url).unwrap(),
            "u=%E5%B1%B1%E7%94%B0%20a%2Fb%22 ip=192.0.2.1 {x}"
        );
        assert_eq!(
            t.render(&vals(), Encoding::Json).unwrap(),
            "u=山田 a/b\\\" ip=192.0.2.1 {x}"
        );
        assert!(t.uses(Var::User) && !t.uses(Var::Until));
    }

    #[test]
    fn unknown_or_missing_values_are_errors() {
        assert!(
            Template::parse("{usr}")
                .unwrap_err()
                .contains("unknown placeholder {usr}")
        );
        assert!(Template::parse("{user").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a}b").unwrap_err().contains("lone"));
        let t = Template::parse("{until}").unwrap();
        assert_eq!(t.render(&vals(), Encoding::Raw), Err(Var::Until));
        assert_eq!(Var::Severity.as_str(), "severity");
    }
}
