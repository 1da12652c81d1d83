//! GraphiQL served from the binary: the page and the pinned GraphiQL and React builds it loads
//! (`assets/graphiql/`, see its README), so the IDE works with no internet access.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The headers editor's text in a new tab: valid JSON, with a placeholder for the token.
const DEFAULT_HEADERS: &str = r#"{"Authorization": "Bearer <paste a token from `dealgraph token`>"}"#;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
/// The files are pinned (a new version is a new binary), so browsers may keep them for good.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// One embedded file, served as `/graphiql/{name}`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
];

/// The page, with `__ENDPOINT__` and `__HEADERS__` standing for JavaScript string literals.
const TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>dealgraph</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  <style>
    html, body { height: 100%; margin: 0; }
    body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
    .hint { margin: 0; padding: 6px 16px; font-size: 13px; color: hsl(219 28% 32%); }
    .hint code { font-family: ui-monospace, monospace; }
    #graphiql { flex: 1; min-height: 0; }
    body.graphiql-dark { background: hsl(219 29% 18%); }
    body.graphiql-dark .hint { color: hsl(219 29% 78%); }
    @media (prefers-color-scheme: dark) {
      body:not(.graphiql-light) { background: hsl(219 29% 18%); }
      body:not(.graphiql-light) .hint { color: hsl(219 29% 78%); }
    }
  </style>
</head>
<body>
  <p class="hint">Put your token in the Headers tab: <code>{"Authorization": "Bearer …"}</code>
    — mint one with <code>dealgraph token --tenant demo</code> — then ⟳ (bottom left) to load the schema.</p>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script>
    const endpoint = __ENDPOINT__;
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url: endpoint }),
        defaultHeaders: __HEADERS__,
        defaultEditorToolsVisibility: "headers",
      }),
    );
  </script>
</body>
</html>
"#;

/// The GraphiQL page for the GraphQL endpoint at `endpoint` (a path such as `/graphql`). It
/// loads its scripts and styles from [`asset`], mounted at `/graphiql/{name}`, and nothing
/// from anywhere else.
pub fn page(endpoint: &str) -> String {
    TEMPLATE
        .replace("__ENDPOINT__", &js_string(endpoint))
        .replace("__HEADERS__", &js_string(DEFAULT_HEADERS))
}

/// `GET /graphiql/{name}`: one of the page's pinned scripts or its stylesheet; 404 for any
/// other name.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, CACHE_FOREVER),
            ],
            asset.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `text` as a JavaScript string literal that is safe inside a `<script>` element: a JSON
/// string with `<` escaped, so no `</script>` can end the element early.
fn js_string(text: &str) -> String {
    serde_json::Value::from(text).to_string().replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSET_PATHS: [&str; 4] = [
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/graphiql.min.js",
        "/graphiql/graphiql.min.css",
    ];

    #[test]
    fn the_page_loads_nothing_from_outside_the_server() {
        let page = page("/graphql");
        assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
    }

    #[test]
    fn the_page_loads_every_asset_and_points_graphiql_at_the_endpoint() {
        let page = page("/graphql");
        for path in ASSET_PATHS {
            assert!(page.contains(&format!("\"{path}\"")), "{path} is not referenced");
        }
        assert!(page.contains(r#"const endpoint = "/graphql";"#), "{page}");
        assert!(page.contains("<title>dealgraph</title>"));
        assert!(page.contains("dealgraph token --tenant demo"));
    }

    #[test]
    fn the_default_headers_are_json_with_an_authorization_placeholder() {
        let headers: serde_json::Value = serde_json::from_str(DEFAULT_HEADERS).expect("valid JSON");
        let authorization = headers["Authorization"].as_str().unwrap_or_default();
        assert!(authorization.starts_with("Bearer "), "{authorization}");
    }

    #[test]
    fn an_endpoint_cannot_close_the_script_element() {
        let page = page("/x</script><script>alert(1)</script>");
        assert_eq!(page.matches("</script>").count(), 4, "{page}");
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type_and_cached_for_good() {
        for path in ASSET_PATHS {
            let name = path.trim_start_matches("/graphiql/");
            let response = asset(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let expected = if name.ends_with(".css") { CSS } else { JAVASCRIPT };
            assert_eq!(content_type, Some(expected), "{name}");
            let cache = response
                .headers()
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok());
            assert_eq!(cache, Some(CACHE_FOREVER), "{name}");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            assert!(body.len() > 1000, "{name} is {} bytes", body.len());
        }
    }

    #[tokio::test]
    async fn other_names_are_not_found() {
        for name in ["", "graphiql.min.js.map", "../Cargo.toml", "index.html"] {
            let response = asset(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name:?}");
        }
    }
}
