//! Query parameters of a list request (RFC 7644 §3.4.2) and the ListResponse body.

use serde_json::{Value, json};

use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::schema::{LIST_RESPONSE_SCHEMA, MAX_RESULTS};

/// What a list (or `.search`) request asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// The filter text, if any.
    pub filter: Option<String>,
    /// 1-based index of the first result (RFC 7644 §3.4.2.4: below 1 means 1).
    pub start_index: usize,
    /// How many results at most; capped at `filter.maxResults`.
    pub count: usize,
    /// `attributes` / `excludedAttributes`.
    pub projection: Projection,
}

impl ListParams {
    /// From query parameters; names compare without regard to case.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, ScimError> {
        let param = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            param(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::invalid_value(format!("`{name}` must be an integer"))
                    })
                })
                .transpose()
        };
        Ok(Self::new(
            param("filter").map(str::to_string),
            number("startIndex")?,
            number("count")?,
            Projection::parse(param("attributes"), param("excludedAttributes"))?,
        ))
    }

    /// From a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search_body(body: &Value) -> Result<Self, ScimError> {
        let object = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        let field = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let list = |name: &str| -> Result<Option<String>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            ScimError::invalid_value(format!("`{name}` must list strings"))
                        })?
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{name}` must be an array of strings"
                ))),
            }
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("`{name}` must be an integer"))
                }),
            }
        };
        let filter = match field("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ScimError::invalid_value("`filter` must be a string")),
        };
        let attributes = list("attributes")?;
        let excluded = list("excludedAttributes")?;
        Ok(Self::new(
            filter,
            number("startIndex")?,
            number("count")?,
            Projection::parse(attributes.as_deref(), excluded.as_deref())?,
        ))
    }

    fn new(
        filter: Option<String>,
        start_index: Option<i64>,
        count: Option<i64>,
        projection: Projection,
    ) -> Self {
        let start_index = start_index.unwrap_or(1).max(1);
        let count = count
            .unwrap_or(MAX_RESULTS as i64)
            .clamp(0, MAX_RESULTS as i64);
        ListParams {
            filter: filter.filter(|f| !f.trim().is_empty()),
            start_index: usize::try_from(start_index).unwrap_or(1),
            count: usize::try_from(count).unwrap_or(0),
            projection,
        }
    }

    /// The 0-based offset of the first result.
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }

    /// How many resources there are and the requested page of them, from the store's count
    /// and the rows `page(offset, limit)` loads (a request without a filter).
    pub(super) fn stored_page<R, E>(
        &self,
        total: i64,
        page: impl FnOnce(i64, i64) -> Result<Vec<R>, E>,
    ) -> Result<(usize, Vec<R>), E> {
        let offset = i64::try_from(self.offset()).unwrap_or(i64::MAX);
        let limit = i64::try_from(self.count).unwrap_or(0);
        let rows = if limit == 0 {
            Vec::new()
        } else {
            page(offset, limit)?
        };
        Ok((usize::try_from(total).unwrap_or_default(), rows))
    }

    /// How many resources matched and the requested page of them (a filtered request, whose
    /// matches are all loaded).
    pub(super) fn cut_page<R>(&self, matched: Vec<R>) -> (usize, Vec<R>) {
        let total = matched.len();
        let page = matched
            .into_iter()
            .skip(self.offset())
            .take(self.count)
            .collect();
        (total, page)
    }
}

/// The ListResponse body (RFC 7644 §3.4.2).
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_parameters_are_clamped_as_rfc_7644_says() {
        let params = ListParams::from_query(&pairs(&[("startIndex", "0"), ("COUNT", "-3")]));
        let params = params.unwrap();
        assert_eq!((params.start_index, params.count), (1, 0));
        let params = ListParams::from_query(&pairs(&[("count", "100000")])).unwrap();
        assert_eq!(params.count, MAX_RESULTS);
        assert!(ListParams::from_query(&pairs(&[("count", "ten")])).is_err());
    }

    #[test]
    fn pages_start_at_the_start_index_and_hold_at_most_count() {
        let params = ListParams::from_query(&pairs(&[("startIndex", "3"), ("count", "2")]));
        let params = params.unwrap();
        assert_eq!(params.cut_page((1..=5).collect()), (5, vec![3, 4]));
        assert_eq!(params.cut_page(vec![1]), (1, Vec::<i32>::new()));
        let stored = params.stored_page(7, |offset, limit| Ok::<_, ()>(vec![(offset, limit)]));
        assert_eq!(stored, Ok((7, vec![(2, 2)])));
        let none = ListParams::from_query(&pairs(&[("count", "0")])).unwrap();
        let stored = none.stored_page(7, |_, _| -> Result<Vec<()>, ()> { unreachable!() });
        assert_eq!(stored, Ok((7, Vec::new())));
    }

    #[test]
    fn search_body_lists_become_parameters() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"a\"",
            "attributes": ["userName", "emails"],
            "startIndex": 2,
            "count": 5,
        });
        let params = ListParams::from_search_body(&body).unwrap();
        assert_eq!(params.filter.as_deref(), Some("userName eq \"a\""));
        assert_eq!((params.start_index, params.count), (2, 5));
    }
}
