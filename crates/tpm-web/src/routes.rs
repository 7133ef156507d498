//! The route table. The router is built from it alone, and a test checks that the OpenAPI
//! document (`assets/openapi.json`, served at `/api/openapi.json`) lists exactly these
//! routes, so nothing is answered that is not documented.

use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;

use crate::{api, assets, guard, AppState};

/// One route: a method, a path (OpenAPI's `{param}` syntax, which axum shares) and what
/// answers it.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    handler: fn() -> MethodRouter<AppState>,
}

/// Every route the server answers. GET reads; POST and DELETE change things.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/",
        handler: || get(assets::index),
    },
    Route {
        method: "GET",
        path: "/assets/{file}",
        handler: || get(assets::file),
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        handler: || get(assets::openapi),
    },
    Route {
        method: "GET",
        path: "/api/processes",
        handler: || get(api::list),
    },
    Route {
        method: "POST",
        path: "/api/processes",
        handler: || post(api::create),
    },
    Route {
        method: "GET",
        path: "/api/processes/{name}",
        handler: || get(api::get_one),
    },
    Route {
        method: "DELETE",
        path: "/api/processes/{name}",
        handler: || delete(api::delete),
    },
    Route {
        method: "POST",
        path: "/api/processes/{name}/start",
        handler: || post(api::start),
    },
    Route {
        method: "POST",
        path: "/api/processes/{name}/stop",
        handler: || post(api::stop),
    },
    Route {
        method: "POST",
        path: "/api/processes/{name}/restart",
        handler: || post(api::restart),
    },
    Route {
        method: "GET",
        path: "/api/processes/{name}/logs",
        handler: || get(api::logs),
    },
    Route {
        method: "GET",
        path: "/api/processes/{name}/metrics",
        handler: || get(api::metrics),
    },
    Route {
        method: "GET",
        path: "/api/ports",
        handler: || get(api::ports),
    },
    Route {
        method: "GET",
        path: "/api/events",
        handler: || get(api::events),
    },
    Route {
        method: "GET",
        path: "/metrics",
        handler: || get(api::prometheus),
    },
];

pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, (route.handler)());
    }
    router
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_event_is_documented_and_has_words_on_the_page() {
        let doc: serde_json::Value =
            serde_json::from_str(crate::assets::OPENAPI).expect("openapi.json is JSON");
        let documented: Vec<&str> = doc["components"]["schemas"]["HistoryEvent"]["properties"]
            ["event"]["enum"]
            .as_array()
            .expect("the event enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let all: Vec<&str> = tpm_core::events::Kind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(documented, all);
        let page = include_str!("../assets/app.js");
        for kind in all {
            assert!(
                page.contains(&format!(" {kind}: '")),
                "app.js has no words for {kind}"
            );
        }
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_served() {
        let doc: serde_json::Value =
            serde_json::from_str(crate::assets::OPENAPI).expect("openapi.json is JSON");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                if ["get", "post", "delete", "put", "patch"].contains(&method.as_str()) {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn no_route_changes_anything_with_get() {
        for route in ROUTES {
            let changes = route.path.ends_with("/start")
                || route.path.ends_with("/stop")
                || route.path.ends_with("/restart");
            assert!(!(changes && route.method == "GET"), "{}", route.path);
        }
    }
}
