//! What the format's tables said about a cell, remembered per parser.
//!
//! A table lookup lower-cases the cell and tries each glob in order (a
//! substring search per `*` piece): ~6,000 instructions for a LINE WORKS
//! description, a quarter of a row's parse (issue 17, `bench/PROFILE.md`).
//! An export repeats a few dozen distinct descriptions, actions and
//! results, so each parser remembers the answer per cell text. The memo is
//! bounded (cleared when full), so a file of a million distinct cells costs
//! the plain lookup and a little more, never unbounded memory.

use std::collections::HashMap;

use super::mapping::{Globs, Meaning, Table};

/// Distinct texts remembered per table before the memo starts over.
const CAP: usize = 1024;

/// Which table (or glob list) a text was looked up in.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Description,
    Method,
    Action,
    Result,
    ModuleFilter,
    Nobody,
}

/// Per table: cell text -> the index of the first matching entry (for a
/// glob list, `Some(0)` when one matches).
#[derive(Debug, Default)]
pub struct Memo {
    seen: [HashMap<Box<str>, Option<usize>, foldhash::fast::RandomState>; 6],
}

impl Memo {
    fn remember(
        &mut self,
        which: Which,
        text: &str,
        find: impl FnOnce() -> Option<usize>,
    ) -> Option<usize> {
        let seen = &mut self.seen[which as usize];
        if let Some(hit) = seen.get(text) {
            return *hit;
        }
        let found = find();
        if seen.len() >= CAP {
            seen.clear();
        }
        seen.insert(text.into(), found);
        found
    }

    /// [`Table::get`], remembered.
    pub fn meaning<'t>(
        &mut self,
        which: Which,
        table: &'t Table,
        text: &str,
    ) -> Option<&'t Meaning> {
        let i = self.remember(which, text, || table.position(text))?;
        table.at(i)
    }

    /// [`Globs::any`], remembered.
    pub fn any(&mut self, which: Which, globs: &Globs, text: &str) -> bool {
        self.remember(which, text, || globs.any(text).then_some(0))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::csv::preset;

    #[test]
    fn remembered_answers_equal_the_tables() {
        let spec = preset("lineworks-audit").unwrap();
        let t = &spec.tables;
        let mut memo = Memo::default();
        for text in [
            "Login success",
            "Login failed (Incorrect password)",
            "login FAILED (incorrect PASSWORD) ",
            "Logout",
            "nothing known",
            "Login success",
        ] {
            assert_eq!(
                memo.meaning(Which::Description, &t.description, text),
                t.description.get(text),
                "{text}"
            );
        }
        for i in 0..CAP * 2 {
            let text = format!("Login failed {i}");
            assert_eq!(
                memo.meaning(Which::Description, &t.description, &text),
                t.description.get(&text)
            );
            assert!(memo.seen[Which::Description as usize].len() <= CAP);
        }
    }
}
