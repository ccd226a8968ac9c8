//! The enrichment part of the configuration: GeoIP databases, named IP lists and
//! the account inventory. Raw forms mirror the TOML; [`validate`] checks them
//! all, reporting every problem with its line, like the rest of the loader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::load::Cx;
use crate::enrich::inventory::{Field, InventoryFormat, InventoryOptions};
use crate::parse::Zone;

/// One `[[ip_list]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIpList {
    pub name: Spanned<String>,
    pub path: Spanned<String>,
}

/// `[inventory]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    pub path: Spanned<String>,
    pub format: Option<Spanned<String>>,
    pub tz: Option<Spanned<String>>,
    pub group_separators: Option<Spanned<String>>,
    /// Field name -> header names (or JSON keys) that hold it.
    pub columns: Option<Spanned<BTreeMap<String, Vec<String>>>>,
}

/// A validated named IP list.
#[derive(Debug, Clone, PartialEq)]
pub struct IpListConfig {
    /// The name rules use (`in_list = "tor-exits"`).
    pub name: String,
    pub path: PathBuf,
}

/// A validated inventory source.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryConfig {
    pub path: PathBuf,
    pub options: InventoryOptions,
}

/// `geoip = [...]`: database paths, each resolved against the config's directory.
pub(super) fn geoip(cx: &mut Cx, raw: &Spanned<Vec<String>>, base: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in raw.get_ref() {
        if p.is_empty() {
            cx.err(raw.span(), "geoip: an empty path");
            continue;
        }
        out.push(super::load::resolve(base, p));
    }
    out
}

/// `[[ip_list]]` tables.
pub(super) fn ip_lists(cx: &mut Cx, raw: &[Spanned<RawIpList>], base: &Path) -> Vec<IpListConfig> {
    let mut out: Vec<IpListConfig> = Vec::new();
    for r in raw {
        let l = r.get_ref();
        let name = l.name.get_ref();
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok_name {
            cx.err(
                l.name.span(),
                format!("ip_list name {name:?}: 1 to 64 of [A-Za-z0-9._-]"),
            );
        }
        if out.iter().any(|o| &o.name == name) {
            cx.err(l.name.span(), format!("two ip_lists are named {name:?}"));
        }
        out.push(IpListConfig {
            name: name.clone(),
            path: super::load::resolve(base, l.path.get_ref()),
        });
    }
    out
}

/// `[inventory]`.
pub(super) fn inventory(cx: &mut Cx, raw: &Spanned<RawInventory>, base: &Path) -> InventoryConfig {
    let r = raw.get_ref();
    let mut options = InventoryOptions::default();
    if let Some(f) = &r.format {
        options.format = match f.get_ref().as_str() {
            "auto" => InventoryFormat::Auto,
            "csv" => InventoryFormat::Csv,
            "json" => InventoryFormat::Json,
            other => {
                cx.err(
                    f.span(),
                    format!("inventory format {other:?}: expected auto, csv or json"),
                );
                InventoryFormat::Auto
            }
        };
    }
    if let Some(z) = &r.tz {
        match z.get_ref().parse::<Zone>() {
            Ok(zone) => options.zone = zone,
            Err(e) => cx.err(z.span(), format!("inventory tz: {e}")),
        }
    }
    if let Some(g) = &r.group_separators {
        if g.get_ref().is_empty() {
            cx.err(g.span(), "inventory group_separators is empty");
        } else {
            options.group_separators = g.get_ref().chars().collect();
        }
    }
    if let Some(cols) = &r.columns {
        for (field, aliases) in cols.get_ref() {
            match Field::parse(field) {
                Some(f) if !aliases.is_empty() => options.columns.set(f, aliases),
                Some(_) => cx.err(
                    cols.span(),
                    format!("inventory columns.{field}: give at least one header name"),
                ),
                None => cx.err(
                    cols.span(),
                    format!(
                        "inventory columns: unknown field {field:?}: expected one of {}",
                        Field::ALL
                            .iter()
                            .map(|f| f.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
    }
    InventoryConfig {
        path: super::load::resolve(base, r.path.get_ref()),
        options,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::load_text;
    use crate::enrich::inventory::InventoryFormat;

    fn load(text: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
        load_text(text, Path::new("/etc/loginwatch/loginwatch.toml"), &|_| {
            None
        })
    }

    #[test]
    fn enrichment_keys_are_read_and_paths_resolved() {
        let c = load(
            "geoip = [\"GeoLite2-City.mmdb\", \"/var/lib/GeoIP/GeoLite2-ASN.mmdb\"]\n\
             [[ip_list]]\nname = \"tor-exits\"\npath = \"lists/tor.netset\"\n\
             [inventory]\npath = \"accounts.csv\"\nformat = \"csv\"\ntz = \"Asia/Tokyo\"\n\
             columns = { user = [\"ログイン名\"] }\n",
        )
        .unwrap();
        assert_eq!(c.geoip[0], Path::new("/etc/loginwatch/GeoLite2-City.mmdb"));
        assert_eq!(c.geoip[1], Path::new("/var/lib/GeoIP/GeoLite2-ASN.mmdb"));
        assert_eq!(c.ip_lists[0].name, "tor-exits");
        assert_eq!(
            c.ip_lists[0].path,
            Path::new("/etc/loginwatch/lists/tor.netset")
        );
        let inv = c.inventory.unwrap();
        assert_eq!(inv.path, Path::new("/etc/loginwatch/accounts.csv"));
        assert_eq!(inv.options.format, InventoryFormat::Csv);
    }

    #[test]
    fn every_enrichment_mistake_is_reported_with_its_line() {
        let errs = load(
            "[[ip_list]]\nname = \"a b\"\npath = \"x\"\n\
             [[ip_list]]\nname = \"dup\"\npath = \"y\"\n\
             [[ip_list]]\nname = \"dup\"\npath = \"z\"\n\
             [inventory]\npath = \"a.csv\"\nformat = \"xlsx\"\ntz = \"Mars/Base\"\ncolumns = { shoe_size = [\"x\"] }\n",
        )
        .unwrap_err();
        let text = errs.to_string();
        for needle in [
            "a b",
            "two ip_lists are named \"dup\"",
            "xlsx",
            "Mars/Base",
            "shoe_size",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        assert!(errs.0.iter().all(|e| e.line.is_some()), "{text}");
        assert_eq!(errs.0.len(), 5, "{text}");
    }
}
