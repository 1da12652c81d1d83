//! GraphQL over HTTP, to the letter (SPEC §5): which errors are request errors, and the
//! `extensions.code` and message every error leaves with.
//!
//! A request error stops a request before execution: the document does not parse
//! (`GRAPHQL_PARSE_FAILED`), does not fit the schema (`GRAPHQL_VALIDATION_FAILED`), is over a
//! limit (`QUERY_TOO_COMPLEX`), or carries a value that cannot be an argument's
//! (`BAD_USER_INPUT`). Such a response has no `data`. An error raised while executing names
//! the field it came from (its `path`), and then `data` is present, possibly null.

use async_graphql::{Pos, Response, ServerError};

/// Did execution start? No: the response holds errors, no data, and no error names a field.
pub fn is_request_error(response: &Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Gives every error of `response` its code: ours are kept; async-graphql's own are sorted out
/// by what they say.
pub fn classify(response: &mut Response) {
    let before_execution = is_request_error(response);
    for err in &mut response.errors {
        let has_code = err.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if !has_code {
            let code = code_of(&err.message, before_execution);
            err.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
}

fn code_of(message: &str, before_execution: bool) -> &'static str {
    if message.contains("too complex") || message.contains("nested too deep") {
        return "QUERY_TOO_COMPLEX";
    }
    // A value that cannot be the argument's: an unknown enum value, a malformed scalar.
    let bad_value = [
        "Invalid value",
        "Failed to parse",
        "expected type",
        "is not a",
        "was not provided",
    ]
    .iter()
    .any(|needle| message.contains(needle));
    match (before_execution, bad_value) {
        (_, true) | (false, false) => "BAD_USER_INPUT",
        (true, false) => "GRAPHQL_VALIDATION_FAILED",
    }
}

/// A syntax error as a person reads it: where, what was found there, and what was expected —
/// not the parser's dump. `err` is the parser's error for `query`.
pub fn parse_failure(query: &str, err: &ServerError) -> ServerError {
    let at = err.locations.first().copied();
    // The parser's message ends with a line "= expected …".
    let expected = err
        .message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("= "))
        .unwrap_or_else(|| err.message.lines().next().unwrap_or("invalid syntax"))
        .replace('_', " ");
    let message = match at {
        Some(pos) => {
            let found = found_at(query, pos);
            format!(
                "Syntax error at line {}, column {}: {expected}, found {found}",
                pos.line, pos.column
            )
        }
        None => format!("Syntax error: {expected}"),
    };
    let mut failure = ServerError::new(message, at);
    failure
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "GRAPHQL_PARSE_FAILED");
    failure
}

/// What the document holds at `pos` (1-based line and column), quoted, or "the end".
fn found_at(query: &str, pos: Pos) -> String {
    let rest = query
        .lines()
        .nth(pos.line.saturating_sub(1))
        .map(|line| line.chars().skip(pos.column.saturating_sub(1)).collect::<String>())
        .unwrap_or_default();
    let token: String = match rest.chars().next() {
        None => return "the end of the line".into(),
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .take(40)
            .collect(),
        Some(c) => c.to_string(),
    };
    format!("\"{token}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(query: &str) -> ServerError {
        let mut request = async_graphql::Request::new(query);
        let err = request.parsed_query().expect_err("does not parse");
        parse_failure(query, &err)
    }

    #[test]
    fn syntax_errors_name_the_line_the_column_and_what_is_there() {
        let err = parse_error("{\n  opportunities(first: ) { totalCount }\n}");
        assert!(
            err.message
                .starts_with("Syntax error at line 2, column 24: expected value"),
            "{}",
            err.message
        );
        assert!(err.message.ends_with("found \")\""), "{}", err.message);
        assert!(
            !err.message.contains("-->") && !err.message.contains('\n'),
            "{}",
            err.message
        );
        let err = parse_error("{ opportunities { edges ");
        assert!(err.message.contains("found the end of the line"), "{}", err.message);
    }

    #[test]
    fn request_errors_are_told_from_field_errors_by_their_path() {
        let request_error = Response::from_errors(vec![ServerError::new("Unknown field \"x\"", None)]);
        assert!(is_request_error(&request_error));
        let mut field_error = ServerError::new("boom", None);
        field_error.path = vec![async_graphql::PathSegment::Field("createAccount".into())];
        // A non-null root field's error leaves `data` null, yet execution ran.
        assert!(!is_request_error(&Response::from_errors(vec![field_error])));
    }

    #[test]
    fn unknown_names_fail_validation_and_bad_values_are_bad_input() {
        assert_eq!(
            code_of("Unknown field \"nope\" on type \"Query\".", true),
            "GRAPHQL_VALIDATION_FAILED"
        );
        assert_eq!(
            code_of(
                "Invalid value for argument \"filter.stages.0\", enumeration type \"Stage\" does not contain the value \"WON\"",
                true
            ),
            "BAD_USER_INPUT"
        );
        assert_eq!(code_of("Query is too complex.", true), "QUERY_TOO_COMPLEX");
        assert_eq!(code_of("Failed to parse \"Int\"", false), "BAD_USER_INPUT");
    }
}
