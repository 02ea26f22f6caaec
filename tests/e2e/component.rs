//! The built artifact itself: a component importing only WASI, exporting both faces.

use crate::harness::runtime;

#[test]
fn component_imports_only_wasi_interfaces() {
    let imports = runtime().imports();
    assert!(!imports.is_empty());
    for name in &imports {
        assert!(name.starts_with("wasi:"), "non-WASI import {name}");
    }
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:config/store@0.2.0-draft-2024-09-27",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
}

#[test]
fn component_exports_the_http_face_and_every_typed_interface() {
    let exports = runtime().exports();
    for needed in [
        "wasi:http/incoming-handler@0.2.12",
        "lever:connector/types@0.2.0",
        "lever:connector/webhooks@0.2.0",
        "lever:connector/partner@0.2.0",
        "lever:connector/setup@0.2.0",
        "lever:connector/actions@0.2.0",
        "lever:connector/triggers@0.2.0",
    ] {
        assert!(
            exports.iter().any(|e| e == needed),
            "{needed} missing from {exports:?}"
        );
    }
}
