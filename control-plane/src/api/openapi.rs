//! The OpenAPI document as a product: printed without a server (`cwic openapi`), the source the
//! console's TypeScript types are generated from, and checked so every success response names its
//! schema (a `$ref` to a `ToSchema` type), which is what makes the generated types useful.

use utoipa::openapi::{OpenApi as OpenApiDocument, RefOr};

/// The document the server serves at `/api/v1/openapi.json`, built from the same handlers.
pub fn document() -> OpenApiDocument {
    super::api().1
}

/// The document as pretty JSON with a final newline (what `cwic openapi` prints and
/// `console/openapi.json` holds).
pub fn document_json() -> String {
    // The document is plain data (strings, maps, numbers): serializing it cannot fail.
    let mut text = document()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

/// Every success (2xx) response of `document` that does not name its schema, as
/// `"<METHOD> <path> <status>: <what is wrong>"`. A 204 must have no body; every other 2xx must
/// have a JSON body whose schema is a `$ref`.
pub fn unnamed_success_responses(document: &OpenApiDocument) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let mut successes = 0;
            for (status, response) in &operation.responses.responses {
                if !status.starts_with('2') {
                    continue;
                }
                successes += 1;
                let at = format!("{method} {path} {status}");
                let RefOr::T(response) = response else { continue };
                if status == "204" {
                    if !response.content.is_empty() {
                        problems.push(format!("{at}: a 204 response must have no body"));
                    }
                    continue;
                }
                let content = match response.content.get("application/json") {
                    Some(RefOr::T(content)) => content,
                    Some(RefOr::Ref(_)) => continue,
                    None => {
                        problems.push(format!("{at}: no application/json body"));
                        continue;
                    }
                };
                match &content.schema {
                    Some(RefOr::Ref(_)) => {}
                    Some(RefOr::T(_)) => problems.push(format!(
                        "{at}: the body schema is inline; give it a named `ToSchema` type"
                    )),
                    None => problems.push(format!("{at}: the body has no schema")),
                }
            }
            // Redirect-only routes (single sign-on) answer 303; every other route has a 2xx.
            let redirects = operation
                .responses
                .responses
                .keys()
                .any(|status| status.starts_with('3'));
            if successes == 0 && !redirects {
                problems.push(format!("{method} {path}: no success response"));
            }
        }
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_success_response_of_the_api_names_its_schema() {
        let document = document();
        assert!(
            document.paths.paths.len() >= 30,
            "{} paths",
            document.paths.paths.len()
        );
        let problems = unnamed_success_responses(&document);
        assert!(
            problems.is_empty(),
            "responses without a named schema:\n{}",
            problems.join("\n")
        );
    }

    /// The console's committed copy (the source of its generated types) is this document.
    #[test]
    fn the_consoles_copy_of_the_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/openapi.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == document_json(),
            "console/openapi.json is stale: the REST API's OpenAPI document changed. Run \
             scripts/build-console to regenerate it and console/src/api/schema.d.ts, then commit both"
        );
    }

    /// The check fails on what it is there to catch: a free-form `serde_json::Value` body, a
    /// body-less 200 and a 204 with a body.
    #[test]
    fn an_unnamed_body_is_caught() {
        #[utoipa::path(get, path = "/free", responses((status = 200, body = serde_json::Value)))]
        #[allow(dead_code)]
        async fn free_form() {}
        #[utoipa::path(get, path = "/bare", responses((status = 200, description = "nothing")))]
        #[allow(dead_code)]
        async fn bare() {}
        #[utoipa::path(delete, path = "/gone", responses((status = 204, body = super::super::error::ErrorBody)))]
        #[allow(dead_code)]
        async fn gone() {}
        #[utoipa::path(get, path = "/named", responses((status = 200, body = super::super::error::ErrorBody)))]
        #[allow(dead_code)]
        async fn named() {}
        #[derive(utoipa::OpenApi)]
        #[openapi(paths(free_form, bare, gone, named))]
        struct Probe;
        let problems = unnamed_success_responses(&<Probe as utoipa::OpenApi>::openapi());
        assert_eq!(
            problems,
            [
                "GET /bare 200: no application/json body",
                "GET /free 200: the body schema is inline; give it a named `ToSchema` type",
                "DELETE /gone 204: a 204 response must have no body",
            ],
        );
    }
}
