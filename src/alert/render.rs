//! Rendering alerts with templates: the words of every alert live in template
//! files (`templates/<lang>/`), built in and overridable by operators.
//!
//! `minijinja` (Jinja syntax, which operators know from Ansible and Salt) runs
//! the templates. The text of an alert is in templates; the structure of the JSON
//! formats (Alertmanager, Slack blocks, webhook) is in code ([`super::formats`]),
//! because a template that emits JSON can emit invalid JSON.
//!
//! Templates, per language:
//! - `assessment.txt`: the decision's assessment in a word or two ("User error",
//!   "Attack", "Unclear");
//! - `summary.txt`: what happened, one sentence;
//! - `advice.txt`: what to do next: first what the assessment calls for (the
//!   message to send a user who locked themselves out, what to do about an
//!   attacker, what to ask when it is unclear), then what the rule adds (a table);
//! - `subject.txt`: the e-mail subject;
//! - `text.txt`: the full alert as plain text (terminal, log, e-mail, chat bots,
//!   the Alertmanager description);
//! - `email.html`: the HTML e-mail (values are HTML-escaped automatically);
//! - `slack.md`: the Slack mrkdwn body (values are Slack-escaped automatically).
//!
//! `assessment_label`, `summary` and `advice` are rendered first (in that order)
//! and handed to the others as plain strings, so they are escaped for HTML or
//! Slack where they are inserted.
//!
//! An override directory holds files of the same names, either directly or in a
//! `<lang>/` subdirectory (which wins). Every template is compiled and tried on a
//! sample alert when the renderer is built, so a broken override is reported at
//! start-up with its file and line, never at the first real alert.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::alert::content::{DEFAULT_API_URL, View};
use crate::alert::zone::DisplayZone;
use crate::alert::{Alert, Payload};
use crate::parse::Zone;

/// The language alerts are written in (also the `language` of the config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl Language {
    /// Every accepted spelling.
    pub const ALL: &'static [&'static str] = &["en", "ja"];

    /// `en` or `ja`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
        }
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Language, String> {
        match s {
            "en" => Ok(Language::En),
            "ja" => Ok(Language::Ja),
            _ => Err(format!("unknown language {s:?} (expected en or ja)")),
        }
    }
}

/// The template names, in rendering order (`assessment`, `summary` and
/// `advice` first).
pub const TEMPLATES: &[&str] = &[
    "assessment.txt",
    "summary.txt",
    "advice.txt",
    "subject.txt",
    "text.txt",
    "email.html",
    "slack.md",
];

macro_rules! embedded {
    ($lang:literal) => {
        [
            include_str!(concat!("../../templates/", $lang, "/assessment.txt")),
            include_str!(concat!("../../templates/", $lang, "/summary.txt")),
            include_str!(concat!("../../templates/", $lang, "/advice.txt")),
            include_str!(concat!("../../templates/", $lang, "/subject.txt")),
            include_str!(concat!("../../templates/", $lang, "/text.txt")),
            include_str!(concat!("../../templates/", $lang, "/email.html")),
            include_str!(concat!("../../templates/", $lang, "/slack.md")),
        ]
    };
}

const EN: [&str; 7] = embedded!("en");
const JA: [&str; 7] = embedded!("ja");

/// One template problem, located.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// The template file (an override's path, or `templates/<lang>/<name>` when built in).
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} line {l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why templates could not be loaded or an alert not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read template directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, one per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Templates(Vec<TemplateError>),
    #[error("cannot encode the alert as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders alerts in one language and zone with the built-in or overridden templates.
pub struct Renderer {
    env: Environment<'static>,
    lang: Language,
    zone: DisplayZone,
    /// Where each template came from, for error messages.
    origin: BTreeMap<&'static str, String>,
    api_url: String,
    generator_url: Option<String>,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("lang", &self.lang)
            .field("zone", &self.zone)
            .field("origin", &self.origin)
            .finish()
    }
}

/// What every template sees: the alert's view plus the pre-rendered sentences.
#[derive(Serialize)]
pub(crate) struct Context<'a> {
    #[serde(flatten)]
    pub view: &'a View,
    pub lang: &'static str,
    /// The assessment worded by `assessment.txt` ("User error").
    pub assessment_label: String,
    pub summary: String,
    pub advice: String,
}

impl Renderer {
    /// Loads the templates of `lang` (built in, replaced by any file of the same
    /// name in `override_dir/<lang>/` or `override_dir/`), compiles them and tries
    /// them on sample alerts; every problem is reported, each with its file and line.
    pub fn new(
        lang: Language,
        zone: Zone,
        override_dir: Option<&Path>,
    ) -> Result<Renderer, RenderError> {
        let builtin = match lang {
            Language::En => EN,
            Language::Ja => JA,
        };
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Block tags on their own lines leave no blank lines behind.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else if name.ends_with(".md") {
                AutoEscape::Custom("slack".into())
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        let mut origin = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, source) in TEMPLATES.iter().zip(builtin) {
            let (file, text) = match find_override(override_dir, lang, name)? {
                Some((path, text)) => (path.display().to_string(), text),
                None => (
                    format!("templates/{}/{name} (built in)", lang.as_str()),
                    source.to_string(),
                ),
            };
            if let Err(e) = env.add_template_owned(*name, text) {
                errors.push(located(&file, &e));
            }
            origin.insert(*name, file);
        }
        if !errors.is_empty() {
            return Err(RenderError::Templates(errors));
        }
        let r = Renderer {
            env,
            lang,
            zone: DisplayZone::new(zone),
            origin,
            api_url: DEFAULT_API_URL.to_string(),
            generator_url: None,
        };
        r.try_samples()?;
        Ok(r)
    }

    /// Where the admin API listens, for the unlock instructions (default
    /// `http://127.0.0.1:9464`).
    pub fn with_api_url(mut self, url: &str) -> Renderer {
        self.api_url = url.to_string();
        self
    }

    /// The `generatorURL` of Alertmanager alerts (none by default).
    pub fn with_generator_url(mut self, url: Option<String>) -> Renderer {
        self.generator_url = url;
        self
    }

    /// The language.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// The zone times are shown in.
    pub fn zone(&self) -> &DisplayZone {
        &self.zone
    }

    pub(crate) fn generator_url(&self) -> Option<&str> {
        self.generator_url.as_deref()
    }

    /// Renders `alert` as `format` would send it. `now` is the end of a resolved
    /// alert without a resolution time (Alertmanager's `endsAt`).
    pub fn render(
        &self,
        alert: &Alert,
        format: super::Format,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Payload, RenderError> {
        let view = View::new(alert, self.lang, &self.zone, &self.api_url);
        let ctx = self.context(&view)?;
        super::formats::payload(self, alert, &ctx, format, now)
    }

    /// The view plus `assessment_label`, `summary` and `advice`, rendered.
    pub(crate) fn context<'a>(&self, view: &'a View) -> Result<Context<'a>, RenderError> {
        let mut ctx = Context {
            view,
            lang: self.lang.as_str(),
            assessment_label: String::new(),
            summary: String::new(),
            advice: String::new(),
        };
        ctx.assessment_label = one_line(&self.template("assessment.txt", &ctx)?);
        ctx.summary = self.template("summary.txt", &ctx)?.trim().to_string();
        ctx.advice = self.template("advice.txt", &ctx)?.trim().to_string();
        Ok(ctx)
    }

    /// Renders one template, its errors located in its file.
    pub(crate) fn template(&self, name: &str, ctx: &Context<'_>) -> Result<String, RenderError> {
        let file = || {
            self.origin
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_string())
        };
        let t = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::Templates(vec![located(&file(), &e)]))?;
        t.render(minijinja::value::Serde(ctx))
            .map_err(|e| RenderError::Templates(vec![located(&file(), &e)]))
    }

    /// Renders sample alerts (firing and resolved, with and without the optional
    /// parts) in every format, collecting every problem.
    fn try_samples(&self) -> Result<(), RenderError> {
        let mut errors = Vec::new();
        for alert in super::sample::alerts() {
            for f in super::Format::ALL_FORMATS {
                match self.render(&alert, *f, alert.decision.at) {
                    Ok(_) => {}
                    Err(RenderError::Templates(es)) => {
                        for e in es {
                            if !errors.contains(&e) {
                                errors.push(e);
                            }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RenderError::Templates(errors))
        }
    }
}

/// `s` on one line, its runs of white space made single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads `name` from the override directory, `<dir>/<lang>/<name>` first.
fn find_override(
    dir: Option<&Path>,
    lang: Language,
    name: &str,
) -> Result<Option<(PathBuf, String)>, RenderError> {
    let Some(dir) = dir else { return Ok(None) };
    if !dir.is_dir() {
        return Err(RenderError::Dir {
            dir: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        });
    }
    for path in [dir.join(lang.as_str()).join(name), dir.join(name)] {
        if path.is_file() {
            return match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((path, text))),
                Err(source) => Err(RenderError::Read { path, source }),
            };
        }
    }
    Ok(None)
}

fn located(file: &str, e: &minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError {
        file: file.to_string(),
        line: e.line(),
        message,
    }
}

/// Prints values: Slack mrkdwn escaping (`&`, `<`, `>`, which would otherwise
/// make links and mentions) for `.md` templates, minijinja's own otherwise.
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match state.auto_escape() {
        AutoEscape::Custom(n) if n == "slack" => {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            let s = value.to_string();
            let text = if value.is_safe() { s } else { slack_escape(&s) };
            out.write_str(&text).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Escapes text for Slack mrkdwn, as Slack documents it.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Format;

    /// The text of every sample alert in `lang`.
    fn texts(lang: Language) -> Vec<(crate::decision::Decision, String)> {
        let r = Renderer::new(lang, Zone::Utc, None).unwrap();
        crate::alert::sample::alerts()
            .into_iter()
            .map(
                |a| match r.render(&a, Format::Text, a.decision.at).unwrap() {
                    Payload::Line { text } => (a.decision, text),
                    p => panic!("text gave {p:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn the_assessment_is_worded_in_the_alert_language() {
        use crate::decision::Assessment;
        for (lang, words) in [
            (Language::En, ["User error", "Attack", "Unclear"]),
            (Language::Ja, ["利用者のミス", "攻撃", "判断できません"]),
        ] {
            let texts = texts(lang);
            for (a, word) in [
                Assessment::UserError,
                Assessment::Attack,
                Assessment::Unclear,
            ]
            .into_iter()
            .zip(words)
            {
                let (_, t) = texts
                    .iter()
                    .find(|(d, _)| d.assessment == a)
                    .expect("a sample of every assessment");
                assert!(t.contains(word), "{lang:?} {a:?}: {t}");
            }
        }
    }

    #[test]
    fn only_a_user_error_lock_carries_the_message_for_the_user() {
        use crate::decision::{Assessment, DecisionAction};
        for (d, t) in texts(Language::En) {
            let lock = d.action == DecisionAction::LockAccount && t.contains("To unlock now");
            let message = t.contains("Send the user this:");
            assert_eq!(
                message,
                lock && d.assessment == Assessment::UserError,
                "{:?} {:?}: {t}",
                d.action,
                d.assessment
            );
            if message {
                assert!(t.contains("Caps Lock"), "{t}");
                let unlock = match d.until {
                    Some(_) => "The account unlocks by itself at",
                    None => "an administrator has to unlock it",
                };
                assert!(t.contains(unlock), "{t}");
            }
        }
    }
}
