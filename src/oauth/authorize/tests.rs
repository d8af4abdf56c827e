//! The decision as a table: prompt × max_age × id_token_hint × consent × login_hint × the
//! browser's sign-in. First the rows that state each rule, then every combination against the
//! rules OIDC Core 3.1.2.1 states.

use chrono::{NaiveDateTime, TimeDelta};

use super::*;
use crate::domain::{Method, Methods};

fn now() -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .unwrap()
        .naive_utc()
}

/// Ann's sign-in, `age` before now.
fn sign_in(age: TimeDelta) -> SignIn {
    SignIn {
        id: "si-1".into(),
        user_id: "ann".into(),
        auth_time: now() - age,
        methods: Methods::new([Method::Pwd]),
        level: Level::Single,
    }
}

/// The request's query, parsed as the endpoint parses it.
fn asked(query: &str, hint: Option<&str>) -> Asked {
    let params = AuthorizeParams::parse(query).unwrap();
    let mut asked = Asked::parse(&params).unwrap();
    asked.hint_sub = hint.map(str::to_owned);
    asked
}

#[derive(Clone, Copy, Debug)]
enum Seen {
    Nobody,
    /// Signed in earlier, this long ago (milliseconds).
    Earlier(i64),
    /// Signed in by this request's own form.
    Fresh,
}

fn run(query: &str, hint: Option<&str>, seen: Seen, consent: Consent) -> Decision {
    let si = sign_in(match seen {
        Seen::Earlier(ms) => TimeDelta::milliseconds(ms),
        _ => TimeDelta::zero(),
    });
    let browser = match seen {
        Seen::Nobody => None,
        Seen::Earlier(_) => Some(Browser {
            sign_in: &si,
            fresh: false,
        }),
        Seen::Fresh => Some(Browser {
            sign_in: &si,
            fresh: true,
        }),
    };
    decide(
        &asked(query, hint),
        browser,
        consent,
        Levels::within(Level::Single),
        now(),
    )
}

use Consent::{Given, Missing, NotNeeded};
use Decision::{Approve, Consent as AskConsent, SignIn as ShowSignIn};

fn refuse(error: &str) -> impl Fn(&Decision) -> bool + '_ {
    move |d| matches!(d, Decision::Refuse { error: e, .. } if *e == error)
}

#[test]
fn each_rule_in_one_row() {
    let ann = Some("ann");
    let bob = Some("bob");
    let min = 60_000;
    let rows: &[(&str, Option<&str>, Seen, Consent, Decision)] = &[
        // No sign-in: the page, or login_required without one.
        (
            "",
            None,
            Seen::Nobody,
            NotNeeded,
            ShowSignIn(Reason::NotSignedIn),
        ),
        (
            "prompt=login",
            None,
            Seen::Nobody,
            Given,
            ShowSignIn(Reason::NotSignedIn),
        ),
        (
            "login_hint=ann%40example.com",
            None,
            Seen::Nobody,
            Missing,
            ShowSignIn(Reason::NotSignedIn),
        ),
        // A live sign-in and nothing to ask: the code at once.
        ("", None, Seen::Earlier(min), NotNeeded, Approve),
        ("", None, Seen::Earlier(min), Given, Approve),
        ("prompt=none", None, Seen::Earlier(min), Given, Approve),
        ("prompt=none", ann, Seen::Earlier(min), NotNeeded, Approve),
        // Consent missing or asked for.
        ("", None, Seen::Earlier(min), Missing, AskConsent),
        (
            "prompt=consent",
            None,
            Seen::Earlier(min),
            Given,
            AskConsent,
        ),
        (
            "prompt=consent",
            None,
            Seen::Earlier(min),
            NotNeeded,
            AskConsent,
        ),
        ("prompt=consent", None, Seen::Fresh, Given, AskConsent),
        // prompt=login: an earlier sign-in does not count; this request's own does.
        (
            "prompt=login",
            None,
            Seen::Earlier(min),
            NotNeeded,
            ShowSignIn(Reason::Asked),
        ),
        (
            "prompt=select_account",
            None,
            Seen::Earlier(min),
            NotNeeded,
            ShowSignIn(Reason::Asked),
        ),
        ("prompt=login", None, Seen::Fresh, NotNeeded, Approve),
        (
            "prompt=login%20consent",
            None,
            Seen::Fresh,
            Given,
            AskConsent,
        ),
        // max_age compares exact elapsed time.
        (
            "max_age=0",
            None,
            Seen::Earlier(100),
            NotNeeded,
            ShowSignIn(Reason::TooOld),
        ),
        ("max_age=0", None, Seen::Earlier(0), NotNeeded, Approve),
        ("max_age=0", None, Seen::Fresh, NotNeeded, Approve),
        ("max_age=60", None, Seen::Earlier(60_000), Given, Approve),
        (
            "max_age=60",
            None,
            Seen::Earlier(60_001),
            Given,
            ShowSignIn(Reason::TooOld),
        ),
        (
            "max_age=99999999999999999999",
            None,
            Seen::Earlier(400 * 86_400_000),
            Given,
            Approve,
        ),
        // id_token_hint: someone else is signed in.
        (
            "",
            bob,
            Seen::Earlier(min),
            NotNeeded,
            ShowSignIn(Reason::OtherUser),
        ),
        ("", ann, Seen::Earlier(min), NotNeeded, Approve),
        (
            "",
            bob,
            Seen::Nobody,
            NotNeeded,
            ShowSignIn(Reason::NotSignedIn),
        ),
        // acr_values: met, or voluntary and beyond reach.
        (
            "acr_values=aal1",
            None,
            Seen::Earlier(min),
            NotNeeded,
            Approve,
        ),
        (
            "acr_values=aal2%20aal1",
            None,
            Seen::Earlier(min),
            NotNeeded,
            Approve,
        ),
        (
            "acr_values=aal2",
            None,
            Seen::Earlier(min),
            NotNeeded,
            Approve,
        ),
        (
            "acr_values=urn%3Aunknown",
            None,
            Seen::Earlier(min),
            NotNeeded,
            Approve,
        ),
    ];
    for (query, hint, seen, consent, expected) in rows {
        assert_eq!(
            run(query, *hint, *seen, *consent),
            *expected,
            "{query} hint={hint:?} {seen:?} {consent:?}"
        );
    }
    // prompt=none never shows a page: each reason becomes the error OIDC names.
    let none_rows: &[(&str, Option<&str>, Seen, Consent, &str)] = &[
        ("prompt=none", None, Seen::Nobody, Given, "login_required"),
        (
            "prompt=none&max_age=0",
            None,
            Seen::Earlier(100),
            Given,
            "login_required",
        ),
        (
            "prompt=none",
            bob,
            Seen::Earlier(min),
            Given,
            "login_required",
        ),
        (
            "prompt=none",
            None,
            Seen::Earlier(min),
            Missing,
            "consent_required",
        ),
    ];
    for (query, hint, seen, consent, error) in none_rows {
        let d = run(query, *hint, *seen, *consent);
        assert!(refuse(error)(&d), "{query} {hint:?} {seen:?}: {d:?}");
    }
    // A person who signs in as someone else than the hint: the client is told.
    assert!(refuse("login_required")(&run("", bob, Seen::Fresh, Given)));
}

#[test]
fn a_level_within_reach_is_insisted_on() {
    let si = sign_in(TimeDelta::minutes(1));
    let browser = Some(Browser {
        sign_in: &si,
        fresh: false,
    });
    let asked = asked("acr_values=aal2", None);
    // Once a second factor is within the person's reach, an aal1 sign-in is not enough.
    assert_eq!(
        decide(&asked, browser, Given, Levels::within(Level::Multi), now()),
        ShowSignIn(Reason::Level)
    );
    assert_eq!(
        decide(&asked, browser, Given, Levels::within(Level::Single), now()),
        Approve
    );
}

#[test]
fn a_second_factor_insisted_on_is_set_up_or_proved() {
    let si = sign_in(TimeDelta::minutes(1));
    let browser = Some(Browser {
        sign_in: &si,
        fresh: false,
    });
    let insisted = |reach| Levels {
        reach,
        required: Level::Multi,
    };
    // Not set up: the account page, or an error without a page.
    assert_eq!(
        decide(
            &asked("", None),
            browser,
            Given,
            insisted(Level::Single),
            now()
        ),
        Decision::Enroll
    );
    let fresh = Some(Browser {
        sign_in: &si,
        fresh: true,
    });
    assert_eq!(
        decide(
            &asked("", None),
            fresh,
            Given,
            insisted(Level::Single),
            now()
        ),
        Decision::Enroll
    );
    assert!(refuse("interaction_required")(&decide(
        &asked("prompt=none", None),
        browser,
        Given,
        insisted(Level::Single),
        now()
    )));
    // Set up: a step up, whatever acr_values says.
    assert_eq!(
        decide(
            &asked("", None),
            browser,
            Given,
            insisted(Level::Multi),
            now()
        ),
        ShowSignIn(Reason::Level)
    );
    let mut strong = sign_in(TimeDelta::minutes(1));
    strong.level = Level::Multi;
    let browser = Some(Browser {
        sign_in: &strong,
        fresh: false,
    });
    assert_eq!(
        decide(
            &asked("", None),
            browser,
            Given,
            insisted(Level::Multi),
            now()
        ),
        Approve
    );
}

#[test]
fn every_combination_keeps_the_rules() {
    let prompts = [
        "",
        "prompt=none",
        "prompt=login",
        "prompt=consent",
        "prompt=select_account",
        "prompt=login%20consent",
    ];
    let max_ages = [
        "",
        "&max_age=0",
        "&max_age=3600",
        "&max_age=99999999999999999999",
    ];
    let login_hints = ["", "&login_hint=ann%40example.com"];
    let hints = [None, Some("ann"), Some("bob")];
    let seens = [
        Seen::Nobody,
        Seen::Earlier(0),
        Seen::Earlier(100),
        Seen::Earlier(7_200_000),
        Seen::Fresh,
    ];
    let mut count = 0;
    for prompt in prompts {
        for max_age in max_ages {
            for login_hint in login_hints {
                for hint in hints {
                    for seen in seens {
                        for consent in [NotNeeded, Given, Missing] {
                            let query = format!("{prompt}{max_age}{login_hint}");
                            let d = run(&query, hint, seen, consent);
                            check(&query, hint, seen, consent, d);
                            // login_hint only fills in the form.
                            let without = format!("{prompt}{max_age}");
                            assert_eq!(d, run(&without, hint, seen, consent), "{query}");
                            count += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(count, 6 * 4 * 2 * 3 * 5 * 3);
}

/// The rules, each stated on its own.
fn check(query: &str, hint: Option<&str>, seen: Seen, consent: Consent, d: Decision) {
    let case = format!("{query} hint={hint:?} {seen:?} {consent:?} -> {d:?}");
    let none = query.contains("prompt=none");
    let other_user = hint == Some("bob");
    // prompt=none: no page, ever.
    if none {
        assert!(!matches!(d, ShowSignIn(_) | AskConsent), "{case}");
    }
    // Nobody signed in: nothing is approved or consented to.
    if matches!(seen, Seen::Nobody) {
        assert!(
            matches!(d, ShowSignIn(Reason::NotSignedIn)) || refuse("login_required")(&d),
            "{case}"
        );
    }
    // A code only for the hinted user, with consent, for a sign-in that meets prompt and
    // max_age.
    if d == Approve {
        assert!(!other_user, "{case}");
        assert!(consent != Missing && !query.contains("consent"), "{case}");
        if let Seen::Earlier(ms) = seen {
            assert!(
                !query.contains("prompt=login") && !query.contains("select_account"),
                "{case}"
            );
            if query.contains("max_age=0") {
                assert_eq!(ms, 0, "{case}");
            }
            if query.contains("max_age=3600") {
                assert!(ms <= 3_600_000, "{case}");
            }
        }
    }
    // This request's own sign-in is never asked to sign in again.
    if matches!(seen, Seen::Fresh) {
        assert!(!matches!(d, ShowSignIn(_)), "{case}");
    }
    // Missing consent (or prompt=consent) is asked, or refused without a page.
    let reauth = query.contains("prompt=login") || query.contains("select_account");
    if matches!(seen, Seen::Earlier(0) | Seen::Fresh) && !other_user && !reauth {
        let ask = consent == Missing || query.contains("prompt=consent");
        if ask {
            assert!(d == AskConsent || refuse("consent_required")(&d), "{case}");
        } else {
            assert_eq!(d, Approve, "{case}");
        }
    }
}

#[test]
fn what_the_request_may_say() {
    let parse = |q: &str| Asked::parse(&AuthorizeParams::parse(q).unwrap());
    assert!(parse("prompt=none%20login").is_err());
    assert!(parse("prompt=bogus").is_err());
    assert!(parse("max_age=-1").is_err());
    assert!(parse("max_age=soon").is_err());
    assert!(parse("max_age=1.5").is_err());
    assert_eq!(parse("max_age=0").unwrap().max_age, Some(TimeDelta::zero()));
    assert_eq!(parse("max_age=99999999999999999999").unwrap().max_age, None);
    assert_eq!(
        parse("acr_values=aal2%20urn%3Ax%20aal1")
            .unwrap()
            .acr_values,
        vec![Level::Multi, Level::Single]
    );
    let long = format!("login_hint={}", "a".repeat(400));
    assert_eq!(parse(&long).unwrap().login_hint, None);
}
