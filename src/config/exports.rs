//! The `[[source]]` keys of an export folder: `retention` (how long rows are
//! remembered so each is delivered once) and `settle` (how long a file stays
//! unwritten before it is read). Both default from the format (an export
//! format has a retention, `formats/*.toml`), so most configs name neither.

use std::time::Duration;

use super::load::Cx;
use super::raw::RawSource;
use crate::rules::Dur;

/// The longest `retention` (about 10 years: cybozu.com's longest archive).
const MAX_RETENTION: Duration = Duration::from_secs(3650 * 86_400);
/// The longest `settle`: a file left unread longer is a mistake.
const MAX_SETTLE: Duration = Duration::from_secs(3600);

/// `retention` as the once-per-row horizon and `settle`, each checked at its
/// line; `ok` is cleared on a mistake.
pub(super) fn keys(
    cx: &mut Cx,
    raw: &RawSource,
    listen: bool,
    ok: &mut bool,
) -> (Option<chrono::Duration>, Option<Duration>) {
    let mut get = |key: &str, v: &Option<toml::Spanned<String>>, max: Duration| {
        let v = v.as_ref()?;
        if listen {
            cx.err(
                v.span(),
                format!("{key} is for a folder of exports (`path`), not for `listen`"),
            );
            *ok = false;
            return None;
        }
        match Dur::parse(v.get_ref()) {
            Ok(d) if d.ms() <= max.as_millis() as i64 => {
                Some(Duration::from_millis(d.ms().unsigned_abs()))
            }
            Ok(_) => {
                cx.err(v.span(), format!("{key}: at most {}s", max.as_secs()));
                *ok = false;
                None
            }
            Err(m) => {
                cx.err(v.span(), format!("{key}: {m}"));
                *ok = false;
                None
            }
        }
    };
    let once = get("retention", &raw.retention, MAX_RETENTION)
        .and_then(|d| chrono::Duration::from_std(d).ok());
    let settle = get("settle", &raw.settle, MAX_SETTLE);
    (once, settle)
}
