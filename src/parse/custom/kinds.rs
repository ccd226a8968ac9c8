//! Compiling the two kinds of declared format: `regex` (pattern and captures) and
//! `json` (field paths, optionally on top of a preset).

use std::sync::Arc;

use super::{Ctx, Maps, OneOrMany, RawFormat, with_ours};
use crate::event::{Action, Outcome, Reason};
use crate::parse::json::mapping::{TimeFormat, ValueMap};
use crate::parse::json::{Filter, JsonSpec, Path, preset};
use crate::parse::regex::{CAPTURES, Groups, RegexFields, RegexSpec};
use crate::parse::{Format, Zone};

impl Ctx<'_> {
    pub(super) fn regex(
        &mut self,
        raw: &RawFormat,
        time_format: TimeFormat,
        zone: Option<Zone>,
        outcome: Option<Outcome>,
        action: Option<Action>,
        maps: Maps,
    ) -> Option<Format> {
        for (set, key) in [
            (raw.preset.is_some(), "preset"),
            (raw.fields.is_some(), "fields"),
            (!raw.filter.is_empty(), "filter"),
        ] {
            if set {
                self.err(format!("`{key}` is only for kind = \"json\""));
            }
        }
        let Some(pattern) = raw.pattern.as_deref() else {
            self.err("kind = \"regex\" needs a `pattern`".to_string());
            return None;
        };
        let regex = match regex::bytes::Regex::new(pattern) {
            Ok(r) => r,
            Err(e) => {
                self.err(format!("pattern does not compile: {e}"));
                return None;
            }
        };
        let mut g = Groups::default();
        let mut time = None;
        for (i, n) in regex.capture_names().enumerate() {
            let Some(n) = n else { continue };
            let slot = match n {
                "time" => &mut time,
                "outcome" => &mut g.outcome,
                "user" => &mut g.user,
                "ip" => &mut g.ip,
                "port" => &mut g.port,
                "reason" => &mut g.reason,
                "host" => &mut g.host,
                "service" => &mut g.service,
                "method" => &mut g.method,
                "action" => &mut g.action,
                "user_agent" => &mut g.user_agent,
                "device" => &mut g.device,
                other => {
                    self.err(format!(
                        "unknown capture name {other:?} (expected {})",
                        CAPTURES.join(", ")
                    ));
                    continue;
                }
            };
            *slot = Some(i);
        }
        match time {
            Some(t) => g.time = t,
            None => self.err("pattern needs a `(?P<time>...)` capture".to_string()),
        }
        if g.outcome.is_none() && outcome.is_none() {
            self.err(
                "pattern needs an `(?P<outcome>...)` capture, or set a constant `outcome`"
                    .to_string(),
            );
        }
        time?;
        Some(Format::Regex(RegexSpec {
            name: self.name.to_string(),
            regex,
            fields: Box::new(RegexFields {
                groups: g,
                time_format,
                zone,
                outcome,
                action: action.unwrap_or(Action::Login),
                service: raw.service.as_deref().map(Arc::from),
                outcome_map: with_ours(maps.outcome, Outcome::ALL, Outcome::parse),
                reason_map: with_ours(maps.reason, Reason::ALL, Reason::parse),
                action_map: with_ours(maps.action, Action::ALL, Action::parse),
            }),
        }))
    }

    pub(super) fn json(
        &mut self,
        raw: &RawFormat,
        time_format: TimeFormat,
        zone: Option<Zone>,
        outcome: Option<Outcome>,
        action: Option<Action>,
        maps: Maps,
    ) -> Option<Format> {
        if raw.pattern.is_some() {
            self.err("`pattern` is only for kind = \"regex\"".to_string());
        }
        let base = match raw.preset.as_deref() {
            Some(p) => match preset(p) {
                Some(s) => Some(s),
                None => {
                    self.err(format!(
                        "unknown preset {p:?} (expected one of {})",
                        crate::parse::json::PRESETS.join(", ")
                    ));
                    return None;
                }
            },
            None => None,
        };
        let from_preset = base.is_some();
        let mut spec = base.unwrap_or_else(|| JsonSpec::empty(self.name));
        spec.name = self.name.to_string();
        let f = &mut *spec.fields;
        if raw.time_format.is_some() || !from_preset {
            f.time_format = time_format;
        }
        if zone.is_some() {
            f.zone = zone;
        }
        let rf = raw.fields.clone().unwrap_or_default();
        let mut set = |dst: &mut Vec<Path>, name: &str, src: &Option<OneOrMany>| {
            if let Some(p) = self.paths(name, src) {
                *dst = p;
            }
        };
        set(&mut f.time, "time", &rf.time);
        set(&mut f.outcome.paths, "outcome", &rf.outcome);
        set(&mut f.reason.paths, "reason", &rf.reason);
        set(&mut f.action.paths, "action", &rf.action);
        set(&mut f.user, "user", &rf.user);
        set(&mut f.source_ip, "ip", &rf.ip);
        set(&mut f.source_port, "port", &rf.port);
        set(&mut f.host, "host", &rf.host);
        set(&mut f.service.paths, "service", &rf.service);
        set(&mut f.method.paths, "method", &rf.method);
        set(&mut f.user_agent, "user_agent", &rf.user_agent);
        set(&mut f.device_id, "device", &rf.device);
        if from_preset {
            f.outcome.map = f.outcome.map.overlaid_by(&maps.outcome);
            f.reason.map = f.reason.map.overlaid_by(&maps.reason);
            f.action.map = f.action.map.overlaid_by(&maps.action);
        } else {
            f.outcome.map = with_ours(maps.outcome, Outcome::ALL, Outcome::parse);
            f.reason.map = with_ours(maps.reason, Reason::ALL, Reason::parse);
            f.action.map = with_ours(maps.action, Action::ALL, Action::parse);
        }
        if outcome.is_some() {
            f.outcome.absent = outcome;
        }
        if action.is_some() {
            f.action.absent = action;
        }
        if let Some(s) = raw.service.as_deref() {
            f.service.absent = Some(Arc::from(s));
        }
        for (p, values) in &raw.filter {
            let Some(path) = self.ok(Path::parse(p)) else {
                continue;
            };
            let mut vm = ValueMap::default();
            for v in values.items() {
                vm.push(v, ());
            }
            f.filters.push(Filter {
                path,
                values: vm,
                exclude: false,
            });
        }
        if f.time.is_empty() {
            self.err("kind = \"json\" needs `fields.time` (or a `preset`)".to_string());
        }
        if f.outcome.paths.is_empty() && f.outcome.absent.is_none() {
            self.err(
                "kind = \"json\" needs `fields.outcome` or a constant `outcome` (or a `preset`)"
                    .to_string(),
            );
        }
        Some(Format::Json(spec))
    }
}
