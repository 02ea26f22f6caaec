//! Builds the component (`plugin/`, wasm32-wasip2, the `component` profile) and hands it to the host as its
//! embedded default, so `lever-host demo` and the tests need no separate build step.
//!
//! The plugin is built with its own target directory (`target/plugin`): a nested cargo on
//! the outer build's target directory would wait forever on its lock. Set
//! `LEVER_PLUGIN_WASM=/path/to/lever_plugin.wasm` to embed a prebuilt component instead.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("component/ is inside the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("lever_plugin.wasm");

    println!("cargo:rerun-if-env-changed=LEVER_PLUGIN_WASM");
    if let Some(prebuilt) = env::var_os("LEVER_PLUGIN_WASM") {
        std::fs::copy(&prebuilt, &out).unwrap_or_else(|e| {
            panic!(
                "copying LEVER_PLUGIN_WASM={}: {e}",
                PathBuf::from(&prebuilt).display()
            )
        });
        return;
    }
    for path in ["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }

    let target_dir = root.join("target").join("plugin");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args([
            "build",
            "--package",
            "lever-plugin",
            "--profile",
            "component",
        ])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir);
    // Flags and wrappers meant for the host build (clippy's driver, host rustflags) must
    // not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
        "CARGO_PROFILE_RELEASE_LTO",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("running cargo to build the plugin: {e}"));
    if !status.success() {
        panic!(
            "building the plugin for wasm32-wasip2 failed (is the target installed? \
             `rustup target add wasm32-wasip2`)"
        );
    }
    let built = target_dir.join("wasm32-wasip2/component/lever_plugin.wasm");
    std::fs::copy(&built, &out).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
}
