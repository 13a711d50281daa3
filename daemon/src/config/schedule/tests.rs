use chrono::{DateTime, TimeZone, Utc};

use super::*;

/// Wednesday 2025-01-01, midnight UTC. January 2025: Sunday 5, Monday 6, Saturday 11.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn runs(text: &str, count: usize) -> Vec<String> {
    let schedule = Schedule::parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    schedule
        .after(start())
        .take(count)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
        .collect()
}

const SUNDAYS: &[&str] = &[
    "2025-01-05 03:00:00",
    "2025-01-12 03:00:00",
    "2025-01-19 03:00:00",
];
const WEEKDAYS: &[&str] = &[
    "2025-01-01 03:00:00",
    "2025-01-02 03:00:00",
    "2025-01-03 03:00:00",
    "2025-01-06 03:00:00",
];
const EVERY_DAY: &[&str] = &[
    "2025-01-01 03:00:00",
    "2025-01-02 03:00:00",
    "2025-01-03 03:00:00",
];

/// Crontab expressions and their next runs after [`start`].
const TABLE: &[(&str, &[&str])] = &[
    // Day of week: 0 and 7 are Sunday, 1 is Monday, 6 is Saturday.
    ("0 3 * * 0", SUNDAYS),
    ("0 3 * * 7", SUNDAYS),
    ("0 3 * * sun", SUNDAYS),
    ("0 3 * * SUN", SUNDAYS),
    ("0 3 * * Sun", SUNDAYS),
    ("0 3 * * sunday", SUNDAYS),
    ("0 3 * * 1-5", WEEKDAYS),
    ("0 3 * * mon-fri", WEEKDAYS),
    ("0 3 * * MON-FRI", WEEKDAYS),
    ("0 3 * * Mon-5", WEEKDAYS),
    (
        "0 3 * * 6",
        &[
            "2025-01-04 03:00:00",
            "2025-01-11 03:00:00",
            "2025-01-18 03:00:00",
        ],
    ),
    (
        "0 3 * * 1",
        &[
            "2025-01-06 03:00:00",
            "2025-01-13 03:00:00",
            "2025-01-20 03:00:00",
        ],
    ),
    (
        "0 3 * * 6,0",
        &[
            "2025-01-04 03:00:00",
            "2025-01-05 03:00:00",
            "2025-01-11 03:00:00",
        ],
    ),
    (
        "0 3 * * sat,SUN",
        &[
            "2025-01-04 03:00:00",
            "2025-01-05 03:00:00",
            "2025-01-11 03:00:00",
        ],
    ),
    (
        "0 3 * * 5-7",
        &[
            "2025-01-03 03:00:00",
            "2025-01-04 03:00:00",
            "2025-01-05 03:00:00",
            "2025-01-10 03:00:00",
        ],
    ),
    // Sunday, Tuesday, Thursday, Saturday.
    (
        "0 3 * * */2",
        &[
            "2025-01-02 03:00:00",
            "2025-01-04 03:00:00",
            "2025-01-05 03:00:00",
            "2025-01-07 03:00:00",
        ],
    ),
    // Monday, Wednesday, Friday.
    (
        "0 3 * * 1-5/2",
        &[
            "2025-01-01 03:00:00",
            "2025-01-03 03:00:00",
            "2025-01-06 03:00:00",
            "2025-01-08 03:00:00",
        ],
    ),
    (
        "0 3 * * mon-fri/2",
        &[
            "2025-01-01 03:00:00",
            "2025-01-03 03:00:00",
            "2025-01-06 03:00:00",
            "2025-01-08 03:00:00",
        ],
    ),
    (
        "0 3 * * 1,3-4",
        &[
            "2025-01-01 03:00:00",
            "2025-01-02 03:00:00",
            "2025-01-06 03:00:00",
        ],
    ),
    ("0 3 * * 0-7", EVERY_DAY),
    ("0 3 * * *", EVERY_DAY),
    ("0 3 * * ?", EVERY_DAY),
    ("  0  3 *  * *  ", EVERY_DAY),
    // Both day fields restricted: days matching either (the 1st, and every Monday).
    (
        "30 2 1 * 1",
        &[
            "2025-01-01 02:30:00",
            "2025-01-06 02:30:00",
            "2025-01-13 02:30:00",
            "2025-01-20 02:30:00",
            "2025-01-27 02:30:00",
            "2025-02-01 02:30:00",
            "2025-02-03 02:30:00",
        ],
    ),
    (
        "0 0 13 * fri",
        &[
            "2025-01-03 00:00:00",
            "2025-01-10 00:00:00",
            "2025-01-13 00:00:00",
            "2025-01-17 00:00:00",
        ],
    ),
    // A day field that covers every day makes every day match.
    ("0 3 1 * 0-6", EVERY_DAY),
    // A day-of-month starting with * and a day-of-week of every day: the day of month decides.
    (
        "0 3 */10 * *",
        &[
            "2025-01-01 03:00:00",
            "2025-01-11 03:00:00",
            "2025-01-21 03:00:00",
        ],
    ),
    (
        "0 3 */10 * 0-7",
        &[
            "2025-01-01 03:00:00",
            "2025-01-11 03:00:00",
            "2025-01-21 03:00:00",
        ],
    ),
    // Other fields.
    (
        "*/30 * * * *",
        &[
            "2025-01-01 00:30:00",
            "2025-01-01 01:00:00",
            "2025-01-01 01:30:00",
        ],
    ),
    (
        "0 */6 * * *",
        &[
            "2025-01-01 06:00:00",
            "2025-01-01 12:00:00",
            "2025-01-01 18:00:00",
        ],
    ),
    (
        "0 0 1 feb-MAR *",
        &[
            "2025-02-01 00:00:00",
            "2025-03-01 00:00:00",
            "2026-02-01 00:00:00",
        ],
    ),
    (
        "0 0 1 */3 *",
        &[
            "2025-04-01 00:00:00",
            "2025-07-01 00:00:00",
            "2025-10-01 00:00:00",
        ],
    ),
    (
        "0 0 29 2 *",
        &["2028-02-29 00:00:00", "2032-02-29 00:00:00"],
    ),
    // Seconds in front, and a year at the end.
    (
        "30 0 3 * * 1-5",
        &[
            "2025-01-01 03:00:30",
            "2025-01-02 03:00:30",
            "2025-01-03 03:00:30",
            "2025-01-06 03:00:30",
        ],
    ),
    (
        "*/20 * * * * *",
        &[
            "2025-01-01 00:00:20",
            "2025-01-01 00:00:40",
            "2025-01-01 00:01:00",
        ],
    ),
    ("0 0 3 1 1 * 2027", &["2027-01-01 03:00:00"]),
    // Shortcuts.
    (
        "@weekly",
        &[
            "2025-01-05 00:00:00",
            "2025-01-12 00:00:00",
            "2025-01-19 00:00:00",
        ],
    ),
    ("@daily", &["2025-01-02 00:00:00", "2025-01-03 00:00:00"]),
    ("@midnight", &["2025-01-02 00:00:00", "2025-01-03 00:00:00"]),
    ("@DAILY", &["2025-01-02 00:00:00", "2025-01-03 00:00:00"]),
    ("@hourly", &["2025-01-01 01:00:00", "2025-01-01 02:00:00"]),
    ("@monthly", &["2025-02-01 00:00:00", "2025-03-01 00:00:00"]),
    ("@yearly", &["2026-01-01 00:00:00", "2027-01-01 00:00:00"]),
    ("@annually", &["2026-01-01 00:00:00", "2027-01-01 00:00:00"]),
];

#[test]
fn crontab_expressions_run_at_crontab_times_in_utc() {
    for (text, expected) in TABLE {
        assert_eq!(runs(text, expected.len() + 1).len(), {
            // Schedules with a year stop; the others go on.
            if text.split_whitespace().count() == 7 {
                expected.len()
            } else {
                expected.len() + 1
            }
        });
        assert_eq!(&runs(text, expected.len()), expected, "{text:?}");
    }
}

/// Expressions that are refused, with words the message must contain.
const REFUSED: &[(&str, &[&str])] = &[
    ("61 * * * *", &["minute 61 is out of range", "0-59"]),
    ("0 24 * * *", &["hour 24 is out of range", "0-23"]),
    ("0 0 0 * *", &["day-of-month 0 is out of range", "1-31"]),
    ("0 0 32 * *", &["day-of-month 32 is out of range"]),
    ("0 0 * 13 *", &["month 13 is out of range", "1-12"]),
    (
        "0 0 * * 8",
        &["day-of-week 8 is out of range", "0 and 7 are Sunday"],
    ),
    ("0 0 * * fry", &["day-of-week \"fry\" is not", "sun, mon"]),
    ("0 0 * * +1", &["day-of-week \"+1\" is not"]),
    ("0 0 * * fri-mon", &["runs backwards", "fri-7,0-mon"]),
    (
        "0 22-2 * * *",
        &["hour range 22-2 runs backwards", "22-23,0-2"],
    ),
    (
        "*/30 * * *",
        &[
            "has 4 field(s)",
            "minute hour day-of-month month day-of-week",
        ],
    ),
    ("every tuesday", &["has 2 field(s)"]),
    ("", &["no schedule given"]),
    ("5/15 * * * *", &["needs a range or *", "5-59/15"]),
    ("*/0 * * * *", &["step \"0\""]),
    ("*/61 * * * *", &["step \"61\"", "1 to 60"]),
    ("0 0 * * 1,,2", &["empty list item"]),
    ("0 ? * * *", &["hour takes * for any value, not ?"]),
    ("0 0 L * *", &["day-of-month \"L\" is not"]),
    ("@reboot", &["@hourly, @daily"]),
    ("0 0 30 2 *", &["never runs", "\"30\"", "\"2\""]),
    // Cron programs disagree on these: refused, with the way to write what was meant.
    (
        "0 3 */2 * 1-5",
        &[
            "day-of-month \"*/2\" and day-of-week \"1-5\" are both restricted",
            "write \"*/2\" as \"1-31/2\"",
            "or set one field to *",
        ],
    ),
    ("0 3 1-15 * */2", &["write \"*/2\" as \"0-6/2\""]),
];

#[test]
fn refusals_quote_the_schedule_as_written_and_say_what_to_write() {
    for (text, words) in REFUSED {
        let message = Schedule::parse(text).expect_err(text);
        assert!(
            message.starts_with(&format!("{:?}: ", text.trim())),
            "{message}"
        );
        for word in *words {
            assert!(
                message.contains(word),
                "{text:?}: {word:?} not in {message}"
            );
        }
        // Neither the crate's six-field form nor its wording (which is off by one).
        assert!(!message.contains("must be less than"), "{message}");
        if !text.is_empty() {
            assert!(!message.contains(&format!("0 {text}")), "{message}");
        }
    }
}

#[test]
fn the_crate_is_given_days_of_the_week_by_name() {
    let schedule = Schedule::parse("0 3 * * 0,5-7").unwrap();
    assert_eq!(schedule.parts.len(), 1);
    assert_eq!(schedule.parts[0].source(), "0 0 3 * * sun,fri,sat");
    let either = Schedule::parse("0 3 1,15 * mon").unwrap();
    let sources: Vec<&str> = either.parts.iter().map(|part| part.source()).collect();
    assert_eq!(sources, ["0 0 3 1,15 * *", "0 0 3 * * mon"]);
    assert_eq!(either.text(), "0 3 1,15 * mon");
}
