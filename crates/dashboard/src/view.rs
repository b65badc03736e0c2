//! What a request asks to see, from its query string: the period, the regions and
//! categories (several of each, as a multi-select sends them), the chart columns and
//! the language. The page, its charts, the API and the exports read it the same way,
//! so a link to a view shows the same figures wherever it is opened.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::analytics::{Choice, Filter};
use crate::error::ApiError;
use crate::lang::Lang;
use crate::order::Region;
use crate::period;
use crate::state::LiveState;

/// The query string's pairs in order; a key may repeat (`region=Wschod&region=Polnoc`),
/// and an empty value (a form's "all" choice) counts as not given.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: &str) -> Params {
        let pairs = form_urlencoded::parse(raw.as_bytes())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs }
    }

    /// The last value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, a comma-separated value counting as several.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .filter(|v| !v.is_empty())
    }

    /// An error for the first key that is neither one of the view's nor in `extra`.
    pub(crate) fn only(&self, extra: &[&str]) -> Result<(), ApiError> {
        const VIEW: [&str; 7] = ["from", "to", "range", "region", "category", "g", "lang"];
        match self.pairs.iter().find(|(k, _)| !VIEW.contains(&k.as_str()) && !extra.contains(&k.as_str())) {
            Some((key, _)) => Err(ApiError::bad(key, format!("unknown parameter {key:?}"))),
            None => Ok(()),
        }
    }

    /// The query string again, for links that keep the view (`skip` left out).
    pub(crate) fn to_query(&self, skip: &[&str]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or("")))
    }
}

/// The columns of the time charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grain {
    /// One per Polish hour.
    Hour,
    /// One per Polish day.
    Day,
    /// One per week, Monday first.
    Week,
    /// One per calendar month.
    Month,
}

impl Grain {
    /// Every grain, finest first, with its value in `g=`.
    pub(crate) const ALL: [(Grain, &'static str); 4] =
        [(Grain::Hour, "hour"), (Grain::Day, "day"), (Grain::Week, "week"), (Grain::Month, "month")];
}

/// A parsed view.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// What the figures cover.
    pub(crate) filter: Filter,
    /// The preset chosen (`7d`, `last-month`, `all`), `None` for a span given by
    /// `from`/`to` alone.
    pub(crate) range: Option<String>,
    /// The chart columns asked for; `None` fits them to the period.
    pub(crate) grain: Option<Grain>,
    /// The page's language.
    pub(crate) lang: Lang,
}

impl View {
    /// Reads `params` (which may hold nothing beyond the view's keys and `extra`).
    /// Presets count back from the process's clock; `from`/`to` narrow them further.
    pub(crate) fn parse(state: &LiveState, params: &Params, extra: &[&str]) -> Result<View, ApiError> {
        params.only(extra)?;
        let time = |key: &str, end: bool| -> Result<Option<i64>, ApiError> {
            params.get(key).map(|text| parse_time(text, end).map_err(|e| ApiError::bad(key, e))).transpose()
        };
        let regions = choice(
            params,
            "region",
            |name| Region::parse(name).map(Region::index),
            || Region::ALL.iter().map(|r| r.as_str()).collect(),
        )?;
        let categories = state.analytics().categories();
        let categories = choice(
            params,
            "category",
            |name| categories.iter().position(|c| c.name == name),
            || categories.iter().map(|c| c.name).collect(),
        )?;
        let mut filter =
            Filter { from_ms: time("from", false)?, to_ms: time("to", true)?, regions, categories };
        let range = params.get("range").map(str::to_string);
        let preset = match range.as_deref() {
            Some(range) => {
                period::bounds(range, crate::clock::now_millis()).map_err(|e| ApiError::bad("range", e))?
            }
            None => None,
        };
        if let Some((from, to)) = preset {
            let explicit = filter.from_ms.is_some() || filter.to_ms.is_some();
            filter.from_ms = Some(filter.from_ms.map_or(from, |f| f.max(from)));
            filter.to_ms = Some(filter.to_ms.map_or(to, |t| t.min(to)));
            if explicit && filter.to_ms <= filter.from_ms {
                return Err(ApiError::bad(
                    "range",
                    format!(
                        "the range {:?} and the from/to span do not overlap: choose one of them",
                        range.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms) {
            if to <= from {
                return Err(ApiError::bad("to", "`to` must be after `from`".into()));
            }
        }
        let grain = params
            .get("g")
            .map(|g| {
                Grain::ALL.iter().find(|(_, name)| *name == g).map(|(grain, _)| *grain).ok_or_else(|| {
                    ApiError::bad("g", format!("invalid g {g:?}: expected hour, day, week or month"))
                })
            })
            .transpose()?;
        let lang = params
            .get("lang")
            .map(|l| {
                Lang::parse(l)
                    .ok_or_else(|| ApiError::bad("lang", format!("invalid lang {l:?}: expected pl or en")))
            })
            .transpose()?
            .unwrap_or_default();
        Ok(View { filter, range, grain, lang })
    }
}

/// The values of a multi-valued dimension, each looked up by `index`; an unknown one is
/// an error that lists the known names.
fn choice(
    params: &Params,
    key: &str,
    index: impl Fn(&str) -> Option<usize>,
    known: impl Fn() -> Vec<&'static str>,
) -> Result<Choice, ApiError> {
    let mut chosen = Vec::new();
    for name in params.all(key) {
        chosen.push(index(name).ok_or_else(|| {
            ApiError::bad(key, format!("unknown {key} {name:?}; the {key} values are {:?}", known()))
        })?);
    }
    Ok(if chosen.is_empty() { Choice::ANY } else { Choice::only(chosen) })
}

/// A day (Polish time; as `to`, the day included), an RFC 3339 instant, or ms since the
/// Unix epoch.
pub(crate) fn parse_time(text: &str, end: bool) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        // 1970-01-01 to the end of 9999: beyond, a period and its comparison would
        // overflow, and no order can lie there.
        const LAST_MS: i64 = 253_402_300_799_999;
        return if (0..=LAST_MS).contains(&ms) {
            Ok(ms)
        } else {
            Err(format!(
                "time {text} is out of range: ms since the Unix epoch from 0 to {LAST_MS} (9999-12-31)"
            ))
        };
    }
    match text.parse::<crate::order::TimeArg>() {
        Ok(t) => Ok(if end { t.end_micros() } else { t.start_micros() } / 1000),
        Err(_) => Err(format!(
            "invalid time {text:?}: expected a day (2026-11-26), an RFC 3339 instant or ms since the Unix epoch"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_comma_separated_values_both_count() {
        let p = Params::parse("region=Wschod&region=Polnoc,Central&category=&range=7d&x=%C5%82");
        assert_eq!(p.all("region").collect::<Vec<_>>(), ["Wschod", "Polnoc", "Central"]);
        assert_eq!(p.all("category").count(), 0, "an empty value is no choice");
        assert_eq!(p.get("x"), Some("ł"));
        assert_eq!(p.to_query(&["x"]), "region=Wschod&region=Polnoc%2CCentral&range=7d");
        assert!(p.only(&[]).is_err());
        assert!(p.only(&["x"]).is_ok());
    }
}
