//! The OpenAPI document is kept in `tests/snapshots/openapi.json`, so that every
//! change to the API shows up in review. Refresh with `UPDATE_SNAPSHOTS=1 cargo test`.

#[test]
fn openapi_document_matches_the_snapshot() {
    let doc = <sportello::api::docs::ApiDoc as utoipa::OpenApi>::openapi();
    let current = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == current,
        "the API changed: review the difference and refresh the snapshot with UPDATE_SNAPSHOTS=1 cargo test"
    );
}
