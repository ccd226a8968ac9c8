//! `loginwatch completions` and `loginwatch man`: generated from the clap
//! definition, so every command `--help` lists must appear in them, and the
//! output must be something the shell and the man formatter accept.

use std::process::Command;

use crate::cli::{every_command, subcommands};
use crate::util::{lw, skip};

fn top_level() -> Vec<String> {
    let out = lw().arg("--help").output().unwrap();
    let found = subcommands(&String::from_utf8_lossy(&out.stdout));
    assert!(
        found.iter().any(|c| c == "completions") && found.iter().any(|c| c == "man"),
        "{found:?}"
    );
    found
}

#[test]
fn completions_name_every_command_in_each_shell() {
    let commands = every_command();
    for shell in ["bash", "zsh", "fish"] {
        let out = lw().args(["completions", shell]).output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.len() > 1000, "{shell}: {script}");
        for path in commands.iter().filter(|p| !p.is_empty()) {
            let name = path.last().unwrap();
            assert!(script.contains(name.as_str()), "{shell} omits {path:?}");
        }
    }
    let out = lw().args(["completions", "powershell"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn bash_completion_parses_and_completes_a_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("loginwatch.bash");
    let out = lw().args(["completions", "bash"]).output().unwrap();
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced and asked for `loginwatch ru<TAB>`, it offers `rules` and `run`.
    let probe = format!(
        "source {}; COMP_WORDS=(loginwatch ru); COMP_CWORD=1; COMP_LINE='loginwatch ru'; \
         COMP_POINT=${{#COMP_LINE}}; _loginwatch loginwatch ru loginwatch; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    let mut words: Vec<&str> = offered.lines().collect();
    words.sort_unstable();
    assert_eq!(
        words,
        ["rules", "run"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn man_dir_writes_a_page_per_command_that_formats() {
    let dir = tempfile::tempdir().unwrap();
    let mandir = dir.path().join("man1");
    let out = lw().arg("man").arg("--dir").arg(&mandir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let mut expected: Vec<String> = every_command()
        .iter()
        .map(|p| {
            let mut name = vec!["loginwatch".to_owned()];
            name.extend(p.iter().cloned());
            format!("{}.1", name.join("-"))
        })
        .collect();
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&mandir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, expected, "one page per command, no other");

    let groff = Command::new("groff").arg("--version").output().is_ok();
    if !groff {
        skip(
            "groff",
            "man_dir_writes_a_page_per_command_that_formats",
            "groff is not installed; only the .TH headers are checked",
        );
    }
    for file in &written {
        let page = std::fs::read_to_string(mandir.join(file)).unwrap();
        let title = file.trim_end_matches(".1");
        // The footer names the package and version on every page, not only
        // the main one.
        let header = format!(
            ".TH {title} 1  \"loginwatch {}\"",
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            page.lines().any(|l| l.trim_end() == header),
            "{file}: {:?}",
            page.lines().find(|l| l.starts_with(".TH"))
        );
        if groff {
            // -ww: every warning; a page groff complains about is a bug. -k:
            // the input is UTF-8 (help texts hold Japanese examples), as `man`
            // reads it.
            let out = Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(mandir.join(file))
                .output()
                .unwrap();
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn main_man_page_on_stdout_names_every_command() {
    let out = lw().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH loginwatch 1"), "{page}");
    // roff writes a hyphen as `\-`.
    let plain = page.replace("\\-", "-");
    for c in top_level() {
        assert!(plain.contains(&format!("loginwatch-{c}(1)")), "{c}: {page}");
    }
}
