//! Sync schedules: crontab expressions with crontab's meaning, run in UTC.
//!
//! The `cron` crate does the date arithmetic, but it reads expressions its own way: a seconds
//! field first, days of the week counted from Sunday = 1, and day of month and day of week
//! combined with AND. Crontab counts days of the week from Sunday = 0 (7 is Sunday too) and,
//! when both day fields are restricted, runs on days matching either (POSIX `crontab`). So the
//! expression is read here, field by field, with crontab's meaning; the crate is given explicit
//! lists (days of the week by name) and, for the either-day rule, one schedule per day field.
//!
//! Forms: 5 fields (minute hour day-of-month month day-of-week), 6 with seconds in front, 7
//! with a year at the end, and `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// A parsed schedule; times are UTC.
#[derive(Clone)]
pub struct Schedule {
    text: String,
    /// The schedule runs at every time of any of these.
    parts: Vec<cron::Schedule>,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.text).finish()
    }
}

impl Schedule {
    /// Reads a schedule. The error quotes `text` as written and says how to fix it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let parts = expand(trimmed).map_err(|problem| format!("{trimmed:?}: {problem}"))?;
        Ok(Self {
            text: trimmed.to_owned(),
            parts,
        })
    }

    /// The schedule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `time`; `None` when the schedule never runs again.
    pub fn next_after(&self, time: &DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.parts
            .iter()
            .filter_map(|part| part.after(time).next())
            .min()
    }

    /// The runs strictly after `time`, in order.
    pub fn after(&self, time: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after(&time), |last| self.next_after(last))
    }

    /// The runs from now on. Schedules are read in UTC only; the argument says so at the call.
    pub fn upcoming(&self, _zone: Utc) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.after(Utc::now())
    }
}

/// Reads a schedule (see [`Schedule::parse`]).
pub fn parse_schedule(text: &str) -> Result<Schedule, String> {
    Schedule::parse(text)
}

const EXAMPLE: &str = "write minute hour day-of-month month day-of-week, e.g. \"30 3 * * 1-5\" \
                       (UTC; a sixth field in front gives seconds)";

/// One field's unit: its name in messages, its range and the names it takes.
struct Unit {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names of `min`, `min + 1`, ... (three-letter forms are accepted too).
    names: &'static [&'static str],
    /// `?` means `*` (day fields only, as in the 6-field form of other cron programs).
    takes_any: bool,
    /// Day of the week: 7 is Sunday as well as 0.
    weekday: bool,
}

const SECOND: Unit = Unit::numbers("second", 0, 59);
const MINUTE: Unit = Unit::numbers("minute", 0, 59);
const HOUR: Unit = Unit::numbers("hour", 0, 23);
const DAY: Unit = Unit {
    takes_any: true,
    ..Unit::numbers("day-of-month", 1, 31)
};
const MONTH: Unit = Unit {
    names: &[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    ..Unit::numbers("month", 1, 12)
};
/// 0 to 7: crontab takes both 0 and 7 for Sunday.
const WEEKDAY: Unit = Unit {
    names: &WEEKDAY_NAMES,
    takes_any: true,
    weekday: true,
    ..Unit::numbers("day-of-week", 0, 7)
};
const YEAR: Unit = Unit::numbers("year", 1970, 2100);

const WEEKDAY_NAMES: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

impl Unit {
    const fn numbers(name: &'static str, min: u32, max: u32) -> Self {
        Self {
            name,
            min,
            max,
            names: &[],
            takes_any: false,
            weekday: false,
        }
    }

    /// The highest value `*` stands for (day-of-week: 6, Sunday being 0).
    fn star_max(&self) -> u32 {
        if self.weekday { 6 } else { self.max }
    }

    fn value(&self, token: &str) -> Result<u32, String> {
        if let Some(number) = number(token) {
            if (self.min..=self.max).contains(&number) {
                return Ok(number);
            }
            return Err(format!(
                "{} {number} is out of range; use {}",
                self.name,
                self.range_hint()
            ));
        }
        let lower = token.to_ascii_lowercase();
        let named = self.names.iter().position(|name| {
            lower.len() >= 3 && (lower == *name || (lower.len() == 3 && name.starts_with(&lower)))
        });
        match named {
            Some(index) => Ok(self.min + index as u32),
            None => Err(format!(
                "{} {token:?} is not {}",
                self.name,
                self.range_hint()
            )),
        }
    }

    fn range_hint(&self) -> String {
        let numbers = format!("{}-{}", self.min, self.max);
        match self.names.len() {
            0 => numbers,
            _ if self.weekday => {
                format!("{numbers} (0 and 7 are Sunday) or sun, mon, tue, wed, thu, fri, sat")
            }
            _ => format!("{numbers} or jan, feb, ... dec"),
        }
    }
}

/// One field as read: the values it stands for, and whether it was written starting with `*`
/// (which matters to how crontab combines the two day fields).
struct Field<'a> {
    text: &'a str,
    values: BTreeSet<u32>,
    starred: bool,
}

impl<'a> Field<'a> {
    fn parse(text: &'a str, unit: &Unit) -> Result<Self, String> {
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            values.extend(item_values(item, unit)?);
        }
        if unit.weekday && values.remove(&7) {
            values.insert(0);
        }
        Ok(Self {
            text,
            values,
            starred: text.starts_with('*') || text.starts_with('?'),
        })
    }

    fn covers(&self, unit: &Unit) -> bool {
        (unit.min..=unit.star_max()).all(|value| self.values.contains(&value))
    }

    /// The field for the crate: `*`, or the values listed (days of the week by name, as the
    /// crate numbers them differently).
    fn crate_text(&self, unit: &Unit) -> String {
        if self.covers(unit) {
            return "*".to_owned();
        }
        let items: Vec<String> = if unit.weekday {
            self.values
                .iter()
                .map(|day| WEEKDAY_NAMES[*day as usize][..3].to_owned())
                .collect()
        } else {
            self.values.iter().map(u32::to_string).collect()
        };
        items.join(",")
    }
}

/// A number written with digits only (no sign).
fn number(token: &str) -> Option<u32> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

fn item_values(item: &str, unit: &Unit) -> Result<Vec<u32>, String> {
    if item.is_empty() {
        return Err(format!("{} has an empty list item", unit.name));
    }
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => {
            let step = number(step)
                .filter(|step| (1..=unit.max - unit.min + 1).contains(step))
                .ok_or_else(|| {
                    format!(
                        "{} step {step:?} must be a number from 1 to {}",
                        unit.name,
                        unit.max - unit.min + 1
                    )
                })?;
            (base, step)
        }
        None => (item, 1),
    };
    let (first, last) = if base == "*" || (base == "?" && unit.takes_any) {
        (unit.min, unit.star_max())
    } else if let Some((from, to)) = base.split_once('-') {
        let (first, last) = (unit.value(from)?, unit.value(to)?);
        if first > last {
            return Err(format!(
                "{} range {base} runs backwards; ranges do not wrap, so write two: \
                 {from}-{},{}-{to}",
                unit.name, unit.max, unit.min
            ));
        }
        (first, last)
    } else if base == "?" {
        return Err(format!("{} takes * for any value, not ?", unit.name));
    } else {
        let value = unit.value(base)?;
        if item.contains('/') {
            // Cron programs disagree on what `5/15` means (5 only, or 5 to the end).
            return Err(format!(
                "{} step {item} needs a range or *: write {value}-{}/{step}",
                unit.name, unit.max
            ));
        }
        (value, value)
    };
    Ok((first..=last).step_by(step as usize).collect())
}

/// The crate schedules equivalent to the crontab expression `text`.
fn expand(text: &str) -> Result<Vec<cron::Schedule>, String> {
    if text.is_empty() {
        return Err(format!("no schedule given; {EXAMPLE}"));
    }
    if let Some(name) = text.strip_prefix('@') {
        let fields = match name.to_ascii_lowercase().as_str() {
            "yearly" | "annually" => "0 0 1 1 *",
            "monthly" => "0 0 1 * *",
            "weekly" => "0 0 * * 0",
            "daily" | "midnight" => "0 0 * * *",
            "hourly" => "0 * * * *",
            _ => {
                return Err(
                    "is not a schedule provisiond knows; use @hourly, @daily, @weekly, \
                     @monthly, @yearly or five crontab fields"
                        .to_owned(),
                );
            }
        };
        return expand(fields);
    }

    let fields: Vec<&str> = text.split_whitespace().collect();
    let (second, rest, year) = match fields.len() {
        5 => ("0", &fields[..], None),
        6 => (fields[0], &fields[1..], None),
        7 => (fields[0], &fields[1..6], Some(fields[6])),
        count => return Err(format!("has {count} field(s), not 5; {EXAMPLE}")),
    };
    let second = Field::parse(second, &SECOND)?;
    let minute = Field::parse(rest[0], &MINUTE)?;
    let hour = Field::parse(rest[1], &HOUR)?;
    let day = Field::parse(rest[2], &DAY)?;
    let month = Field::parse(rest[3], &MONTH)?;
    let weekday = Field::parse(rest[4], &WEEKDAY)?;
    let year = year.map(|year| Field::parse(year, &YEAR)).transpose()?;

    let all_days = (day.covers(&DAY), weekday.covers(&WEEKDAY));
    let day_sets: Vec<(String, String)> = if day.starred || weekday.starred {
        if !all_days.0 && !all_days.1 {
            let starred = if day.starred { &day } else { &weekday };
            let unit = if day.starred { &DAY } else { &WEEKDAY };
            return Err(format!(
                "day-of-month {:?} and day-of-week {:?} are both restricted, and cron programs \
                 disagree on how a field starting with * then combines with the other; write \
                 {:?} as {:?} to run on days matching either field, or set one field to *",
                day.text,
                weekday.text,
                starred.text,
                starred
                    .text
                    .replacen(['*', '?'], &format!("{}-{}", unit.min, unit.star_max()), 1),
            ));
        }
        // One of them stands for every day: the other alone decides.
        if all_days.1 && !month_has_day(&day, &month) {
            return Err(format!(
                "never runs: day-of-month {:?} does not occur in month {:?}; {EXAMPLE}",
                day.text, month.text
            ));
        }
        vec![(day.crate_text(&DAY), weekday.crate_text(&WEEKDAY))]
    } else if all_days.0 || all_days.1 {
        vec![("*".to_owned(), "*".to_owned())]
    } else {
        // Crontab runs on days that match either field.
        vec![
            (day.crate_text(&DAY), "*".to_owned()),
            ("*".to_owned(), weekday.crate_text(&WEEKDAY)),
        ]
    };

    day_sets
        .into_iter()
        .map(|(days, weekdays)| {
            let mut fields = vec![
                second.crate_text(&SECOND),
                minute.crate_text(&MINUTE),
                hour.crate_text(&HOUR),
                days,
                month.crate_text(&MONTH),
                weekdays,
            ];
            fields.extend(year.as_ref().map(|year| year.crate_text(&YEAR)));
            // The fields were checked above; the crate refusing them is a bug here, reported
            // without the crate's own wording, which speaks of its numbering.
            cron::Schedule::from_str(&fields.join(" "))
                .map_err(|_| format!("cannot be scheduled; {EXAMPLE}"))
        })
        .collect()
}

/// Whether some listed day of the month exists in some listed month (February 29 counts).
fn month_has_day(day: &Field<'_>, month: &Field<'_>) -> bool {
    let Some(first_day) = day.values.first() else {
        return false;
    };
    month.values.iter().any(|month| {
        let days = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        *first_day <= days
    })
}

#[cfg(test)]
mod tests;
