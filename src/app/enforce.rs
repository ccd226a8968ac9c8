//! Enforcement in the daemon: decisions in mode `enforce` pass the safety filter
//! (exemptions, the last admins, the lockout storm breaker, own and private
//! addresses), then their configured actions run, off the ingest thread. Every
//! action, refusal and result goes into the decision's audit trail; a storm
//! trip is alerted as a critical decision of its own. On unlock (auto or admin)
//! the inverse actions run. With `--dry-run` the plan is logged and audited, not run.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::action::{self, ActionsConfig, Phase};
use crate::clock::Clock;
use crate::decision::{Decision, DecisionAction, Mode};
use crate::enrich::inventory::Inventory;
use crate::escape::Escaped;
use crate::safety::{Ctx, Safety, Verdict};
use crate::state::{DecisionFilter, Store};

/// The daemon's enforcer.
pub struct Enforcer {
    actions: ActionsConfig,
    safety: Mutex<Safety>,
    dry_run: bool,
    store: Arc<Mutex<Store>>,
    alerting: Option<Arc<super::alerting::Alerting>>,
    /// Wait for each action to finish (a short-lived CLI process would
    /// otherwise exit before its actions ran).
    wait: bool,
    /// When an action's result is audited.
    clock: Arc<dyn Clock>,
}

impl Enforcer {
    pub fn new(
        actions: ActionsConfig,
        safety: Safety,
        dry_run: bool,
        store: Arc<Mutex<Store>>,
        alerting: Option<Arc<super::alerting::Alerting>>,
        clock: Arc<dyn Clock>,
    ) -> Enforcer {
        Enforcer {
            actions,
            safety: Mutex::new(safety),
            dry_run,
            store,
            alerting,
            wait: false,
            clock,
        }
    }

    fn audit(&self, id: &str, what: &str, detail: &str, now: DateTime<Utc>) {
        if let Ok(mut s) = self.store.lock()
            && let Err(e) = s.record_audit(id, what, "loginwatch", detail, now)
        {
            warn!(error = %e, "Audit entry not written.");
        }
    }

    /// Admins currently locked or disabled, for the last-admin rule.
    fn locked_admins(&self, inventory: Option<&Inventory>) -> usize {
        let Some(inv) = inventory else { return 0 };
        let Ok(s) = self.store.lock() else { return 0 };
        let filter = DecisionFilter {
            active_only: true,
            locks_only: true,
            ..DecisionFilter::default()
        };
        s.decisions(&filter)
            .map(|v| {
                v.iter()
                    .filter(|r| {
                        matches!(
                            r.decision.action,
                            DecisionAction::LockAccount | DecisionAction::DisableAccount
                        )
                    })
                    .filter_map(|r| {
                        r.decision
                            .target
                            .user
                            .as_deref()
                            .and_then(|u| inv.account(u))
                    })
                    .filter(|a| a.admin)
                    .count()
            })
            .unwrap_or(0)
    }

    /// Decisions about to be stored pass the storm breaker (both modes): a
    /// lock it holds becomes `mode: held`, and a trip raises the storm's one
    /// critical alert. Called before the commit, so what is stored, counted
    /// and alerted already says whether the breaker held it.
    pub fn screen(
        &self,
        decisions: &mut [Decision],
        inventory: Option<&Inventory>,
        now: DateTime<Utc>,
    ) {
        let Ok(mut s) = self.safety.lock() else {
            return;
        };
        let ctx = Ctx {
            now,
            inventory,
            locked_admins: 0,
        };
        for d in decisions.iter_mut() {
            for ev in s.screen(d, &ctx) {
                let storm = ev.decision();
                warn!(id = %storm.id, accounts = storm.evidence.count, "Lockout storm breaker: {}", Escaped(&storm.rule));
                if let Some(a) = &self.alerting {
                    a.enqueue(&super::alerting::firing(&storm, None), now);
                }
            }
        }
    }

    /// A decision an admin makes by hand, before it is stored: the same
    /// filter as a rule's, but a refusal is an answer to the admin (with the
    /// reason) instead of a quiet downgrade: exempt targets, own and private
    /// addresses, the last admins, and account locks while the storm breaker
    /// is open. An accepted account lock counts toward the breaker like a
    /// rule's (and may be the one that trips it: then it is refused too).
    pub fn admit(
        &self,
        d: &mut Decision,
        inventory: Option<&Inventory>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        // Read before the safety lock: `decided` takes them in this order too.
        let locked_admins = self.locked_admins(inventory);
        let mut s = self
            .safety
            .lock()
            .map_err(|_| "the safety filter is unavailable".to_string())?;
        let ctx = Ctx {
            now,
            inventory,
            locked_admins,
        };
        if let Verdict::AlertOnly { why } | Verdict::DowngradeToRecommend { why } = s.check(d, &ctx)
        {
            return Err(why.to_string());
        }
        let locks = matches!(
            d.action,
            DecisionAction::LockAccount | DecisionAction::DisableAccount
        );
        if locks && s.storm_tripped() {
            return Err(format!(
                "{} (close the breaker with `loginwatch safety storm-reset` first)",
                crate::safety::Why::Storm
            ));
        }
        for ev in s.screen(d, &ctx) {
            let storm = ev.decision();
            warn!(id = %storm.id, accounts = storm.evidence.count, "Lockout storm breaker: {}", Escaped(&storm.rule));
            if let Some(a) = &self.alerting {
                a.enqueue(&super::alerting::firing(&storm, None), now);
            }
        }
        if d.mode == Mode::Held {
            return Err(crate::safety::Why::Storm.to_string());
        }
        Ok(())
    }

    /// A new decision: safety first, then its actions (enforce mode only).
    pub fn decided(&self, d: &Decision, inventory: Option<&Inventory>, now: DateTime<Utc>) {
        if d.mode != Mode::Enforce {
            return;
        }
        let locked_admins = self.locked_admins(inventory);
        let verdict = match self.safety.lock() {
            Ok(s) => s.check(
                d,
                &Ctx {
                    now,
                    inventory,
                    locked_admins,
                },
            ),
            Err(_) => return,
        };
        match verdict {
            Verdict::Enforce => self.run(d, Phase::Apply, now),
            Verdict::DowngradeToRecommend { why } | Verdict::AlertOnly { why } => {
                info!(id = %d.id, why = %why, "Not enforced.");
                self.audit(&d.id, "not enforced", &why.to_string(), now);
            }
        }
    }

    /// An admin closes the storm breaker; true when it was open. The "resumed"
    /// event resolves the storm alert. The breaker is no stored decision, so
    /// the log line is its audit: the name given and the credential used.
    pub fn reset_storm(&self, by: &str, credential: &str, now: DateTime<Utc>) -> bool {
        let Ok(mut s) = self.safety.lock() else {
            return false;
        };
        match s.reset_storm(now) {
            Some(ev) => {
                info!(
                    by = %Escaped(by),
                    credential = %credential,
                    "Lockout storm breaker closed by an admin."
                );
                if let Some(a) = &self.alerting {
                    let storm = ev.decision();
                    let alert =
                        super::alerting::resolved(&storm, "admin", now, Some(by.to_owned()), None);
                    a.enqueue(&alert, now);
                }
                true
            }
            None => false,
        }
    }

    /// Runs actions to completion before returning (for the CLI).
    pub fn waiting(mut self) -> Enforcer {
        self.wait = true;
        self
    }

    /// A lock ended: undo what was applied.
    pub fn ended(&self, d: &Decision, now: DateTime<Utc>) {
        if d.mode == Mode::Enforce {
            self.run(d, Phase::Undo, now);
        }
    }

    fn run(&self, d: &Decision, phase: Phase, now: DateTime<Utc>) {
        let plan = action::plan(d, &self.actions, phase, now);
        for r in &plan.refusals {
            warn!(id = %d.id, reason = %r.reason, "Action refused.");
            self.audit(&d.id, "action refused", &r.reason.to_string(), now);
        }
        let mut running = Vec::new();
        for planned in plan.actions {
            let shown = planned.redacted().to_string();
            if self.dry_run {
                info!(id = %d.id, "Dry run, would run: {shown}");
                self.audit(&d.id, "dry run", &shown, now);
                continue;
            }
            let id = d.id.clone();
            let store = self.store.clone();
            let clock = self.clock.clone();
            // Off the ingest thread: an action may take up to its timeout.
            running.push(std::thread::spawn(move || {
                let result = action::run(&planned);
                let detail = format!(
                    "{shown}: {}",
                    serde_json::to_string(&result).unwrap_or_default()
                );
                if let Ok(mut s) = store.lock() {
                    let what = if result.ok {
                        "action ok"
                    } else {
                        "action failed"
                    };
                    let _ = s.record_audit(&id, what, "loginwatch", &detail, clock.now());
                }
            }));
        }
        if self.wait {
            for r in running {
                // A panicked action thread has nothing left to report.
                let _ = r.join();
            }
        }
    }
}
