//! Plans and runs as text for people: counts, the first lines of each kind of change, and the
//! log lines of a run's rejected listing entries.

use std::fmt::Write as _;

use super::plan::{DeactivationReason, ReconcilePlan};
use super::run::{RunCounts, RunReport};

/// `3 created, 1 updated, ...`: the non-zero counts, or `no changes`.
pub fn counts_line(counts: &RunCounts) -> String {
    let changes = &counts.changes;
    let parts: Vec<String> = [
        (changes.users_created, "users created"),
        (changes.users_updated, "users updated"),
        (changes.users_deactivated, "users deactivated"),
        (changes.users_reactivated, "users reactivated"),
        (changes.groups_created, "groups created"),
        (changes.groups_updated, "groups updated"),
        (changes.groups_deleted, "groups deleted"),
        (changes.members_added, "memberships added"),
        (changes.members_removed, "memberships removed"),
        (counts.conflicts, "conflicts"),
        (counts.rejected, "rejected"),
    ]
    .iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect();
    if parts.is_empty() {
        "no changes".to_owned()
    } else {
        parts.join(", ")
    }
}

/// One line about a finished run.
pub fn summary(report: &RunReport) -> String {
    let mut line = format!(
        "sync {}: {} ({}) in {:.1}s: {} users and {} groups read in {} pages; {}",
        report.connection,
        report.status.as_str(),
        report.mode,
        report.duration.as_secs_f64(),
        report.counts.users_seen,
        report.counts.groups_seen,
        report.counts.pages,
        counts_line(&report.counts)
    );
    if let Some(message) = &report.message {
        let _ = write!(line, "\n  {message}");
    }
    line
}

/// Most rejected objects logged one by one per run; the rest are counted.
const LOGGED_REJECTIONS: usize = 20;

/// Logs the plan's rejections: the first few with the listed id (as a conflict report shows
/// it; never the address) and the reason, then how many more.
pub fn log_rejections(plan: &ReconcilePlan) {
    for rejection in plan.rejected.iter().take(LOGGED_REJECTIONS) {
        tracing::warn!(
            kind = rejection.kind.as_str(),
            id = ?super::listing::shortened(&rejection.id),
            reason = %rejection.reason,
            "listed object rejected"
        );
    }
    if plan.rejected.len() > LOGGED_REJECTIONS {
        tracing::warn!(
            more = plan.rejected.len() - LOGGED_REJECTIONS,
            "further listed objects rejected; `provisiond sync --dry-run` lists them"
        );
    }
}

/// The plan, with at most `limit` lines per kind of change.
pub fn plan_lines(plan: &ReconcilePlan, limit: usize) -> String {
    let mut out = String::new();
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title} ({}):", lines.len());
        for line in lines.iter().take(limit) {
            let _ = writeln!(out, "  {line}");
        }
        if lines.len() > limit {
            let _ = writeln!(out, "  ... and {} more", lines.len() - limit);
        }
    };
    section(
        "create users",
        plan.create_users
            .iter()
            .map(|user| {
                let state = if user.active {
                    ""
                } else {
                    " (disabled at the IdP)"
                };
                format!("{}{state}", user.profile.email)
            })
            .collect(),
    );
    section(
        "update users",
        plan.update_users
            .iter()
            .map(|user| {
                if user.previous_email == user.profile.email {
                    user.profile.email.clone()
                } else {
                    format!("{} -> {}", user.previous_email, user.profile.email)
                }
            })
            .collect(),
    );
    section(
        "deactivate users",
        plan.deactivate_users
            .iter()
            .map(|user| match user.reason {
                Some(DeactivationReason::DisabledAtIdp) => {
                    format!("{} (disabled at the IdP)", user.email)
                }
                _ => format!("{} (no longer assigned)", user.email),
            })
            .collect(),
    );
    section(
        "reactivate users",
        plan.reactivate_users
            .iter()
            .map(|u| u.email.clone())
            .collect(),
    );
    section(
        "create groups",
        plan.create_groups
            .iter()
            .map(|g| g.display_name.clone())
            .collect(),
    );
    section(
        "update groups",
        plan.update_groups
            .iter()
            .map(|g| format!("{} -> {}", g.previous_name, g.display_name))
            .collect(),
    );
    section(
        "delete groups",
        plan.delete_groups
            .iter()
            .map(|g| g.display_name.clone())
            .collect(),
    );
    section(
        "add memberships",
        plan.add_members.iter().map(|m| m.label.clone()).collect(),
    );
    section(
        "remove memberships",
        plan.remove_members
            .iter()
            .map(|m| m.label.clone())
            .collect(),
    );
    section(
        "conflicts (left alone)",
        plan.conflicts
            .iter()
            .map(|c| format!("{} ({}): {}", c.email, c.external_id, c.reason))
            .collect(),
    );
    section(
        "rejected listing entries",
        plan.rejected.iter().map(ToString::to_string).collect(),
    );
    if out.is_empty() {
        out.push_str("no changes\n");
    }
    out
}
