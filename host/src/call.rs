//! `lever-host call`: runs one operation of the component (the embedder's view) with plain
//! arguments and prints its answer. It is a codec over the WIT `operations.invoke`: the
//! arguments become the operation's JSON input as the operation declares them
//! (`lever_plugin::ops`), and the component's answer is printed as it is, the same JSON the
//! HTTP face answers. Four functions are not operations on a connection and call their
//! typed export: `list-connections`, `complete-oauth`, `handle-lever-webhook` and `tick`.

use serde_json::{json, Map, Value};

use lever_plugin::ops::{self, Arg};

use crate::server::Connector;
use crate::wire;

/// The functions `call` runs, with their arguments.
pub fn usage() -> String {
    let mut out = String::from(
        "list-connections\ncomplete-oauth <code> <state>\nhandle-lever-webhook <connection> <file with the raw delivery body>\ntick\naction <connection> <action> ['<JSON input>']   (any operation by name)\n",
    );
    for op in ops::all() {
        out.push_str(op.name());
        out.push_str(" <connection>");
        for arg in op.args() {
            out.push_str(&match arg {
                Arg::Field(name) => format!(" <{name}>"),
                Arg::OptField(name) => format!(" [{name}]"),
                Arg::Input => " ['<JSON input>']".to_string(),
                Arg::InputFile => " <file with the JSON input>".to_string(),
                Arg::Rest(name) => format!(" <{name}>..."),
                Arg::Secret(name, var) => format!(" <{name}, or - to read {var}>"),
                Arg::Flag(_, word) => format!(" [{word}]"),
            });
        }
        out.push('\n');
    }
    out
}

fn arg<'a>(args: &'a [String], index: usize, name: &str) -> anyhow::Result<&'a String> {
    args.get(index)
        .ok_or_else(|| anyhow::anyhow!("missing argument <{name}>\n\nfunctions:\n{}", usage()))
}

fn json_text(text: &str, what: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{what} is not JSON: {e}"))
}

/// The operation's JSON input from the arguments after the connection.
pub fn input(op: ops::Op, args: &[String]) -> anyhow::Result<Value> {
    let schema = op.input_schema();
    // A text argument for a boolean or integer field is parsed as one.
    let typed = |name: &str, value: &String| -> anyhow::Result<Value> {
        Ok(match schema["properties"][name]["type"].as_str() {
            Some("boolean") => json!(value.parse::<bool>().map_err(|_| {
                anyhow::anyhow!("{} takes <{name}> as true or false", op.name())
            })?),
            Some("integer") => json!(value
                .parse::<i64>()
                .map_err(|_| { anyhow::anyhow!("{} takes <{name}> as a number", op.name()) })?),
            _ => json!(value),
        })
    };
    let mut fields = Map::new();
    let mut whole = None;
    let mut rest = args.iter();
    for declared in op.args() {
        match *declared {
            Arg::Field(name) => {
                let value = rest
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("{} needs <{name}>", op.name()))?;
                fields.insert(name.into(), typed(name, value)?);
            }
            Arg::OptField(name) => {
                if let Some(value) = rest.next() {
                    fields.insert(name.into(), typed(name, value)?);
                }
            }
            Arg::Input => {
                whole = Some(match rest.next() {
                    Some(text) => json_text(text, "the input")?,
                    None => json!({}),
                })
            }
            Arg::InputFile => {
                let path = rest
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("{} needs a JSON file", op.name()))?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
                whole = Some(json_text(&text, path)?);
            }
            Arg::Rest(name) => {
                let values: Vec<&String> = rest.by_ref().collect();
                if let ops::Input::Texts = input_kind(op) {
                    whole = Some(json!(values));
                } else {
                    fields.insert(name.into(), json!(values));
                }
            }
            Arg::Secret(name, var) => {
                let value = rest
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("{} needs <{name}>", op.name()))?;
                let value = match value.as_str() {
                    "-" => std::env::var(var).map_err(|_| anyhow::anyhow!("{var} is not set"))?,
                    given => given.to_string(),
                };
                fields.insert(name.into(), json!(value));
            }
            Arg::Flag(name, word) => {
                if let Some(given) = rest.next() {
                    if given != word && given.trim_start_matches("--") != word {
                        anyhow::bail!("{} takes [{word}], not {given:?}", op.name());
                    }
                    fields.insert(name.into(), json!(true));
                }
            }
        }
    }
    if let Some(extra) = rest.next() {
        anyhow::bail!("{} takes no argument {extra:?}", op.name());
    }
    Ok(whole.unwrap_or(Value::Object(fields)))
}

fn input_kind(op: ops::Op) -> ops::Input {
    match op {
        ops::Op::Fixed(fixed) => fixed.input,
        ops::Op::Lever(_) => ops::Input::Fields(&[]),
    }
}

/// Calls `function` with `args`. `Ok(Ok(json))` on success, `Ok(Err(json))` when the
/// component answered with a connector error (`{"error": {...}}`), `Err` for a bad command
/// line or a host fault.
pub async fn run(
    connector: &Connector,
    function: &str,
    args: &[String],
) -> anyhow::Result<Result<Value, Value>> {
    let result = match function {
        "list-connections" => {
            let (mut store, instance) = connector.typed().await?;
            instance
                .lever_connector_setup()
                .call_list_connections(&mut store)
                .await?
                .map(|ids| json!({ "data": ids }))
        }
        "complete-oauth" => {
            use crate::runtime::bindings::exports::lever::connector::setup;
            let callback = setup::OauthCallback {
                code: Some(arg(args, 0, "code")?.clone()),
                state: Some(arg(args, 1, "state")?.clone()),
                error: None,
                error_description: None,
            };
            let (mut store, instance) = connector.typed().await?;
            match instance
                .lever_connector_setup()
                .call_complete_oauth(&mut store, &callback)
                .await?
            {
                Ok(connected) => Ok(json!({ "connected": wire::connected(connected)? })),
                Err(e) => Err(e),
            }
        }
        "handle-lever-webhook" => {
            let path = arg(args, 1, "file")?.as_str();
            let body = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            match connector
                .handle_lever_webhook(arg(args, 0, "connection")?, &body)
                .await?
            {
                Ok(receipt) => Ok(serde_json::to_value(wire::receipt(receipt)?)?),
                Err(e) => Err(e),
            }
        }
        "tick" => connector.tick().await?,
        "action" => {
            let connection = arg(args, 0, "connection")?;
            let name = arg(args, 1, "action")?;
            let input = match args.get(2) {
                Some(text) => json_text(text, "the action input")?,
                None => json!({}),
            };
            if let Some(extra) = args.get(3) {
                anyhow::bail!("action takes one JSON input, not also {extra:?}");
            }
            invoke(connector, connection, name, &input).await?
        }
        name => {
            let op = ops::find(name).ok_or_else(|| {
                anyhow::anyhow!("unknown function {name:?}\n\nfunctions:\n{}", usage())
            })?;
            let connection = arg(args, 0, "connection")?;
            let input = input(op, &args[1..])?;
            invoke(connector, connection, name, &input).await?
        }
    };
    Ok(result.map_err(|e| wire::error(&e).to_json()))
}

async fn invoke(
    connector: &Connector,
    connection: &str,
    name: &str,
    input: &Value,
) -> anyhow::Result<Result<Value, crate::server::ConnectorError>> {
    if ops::find(name).is_none() {
        anyhow::bail!("unknown operation {name:?}\n\nfunctions:\n{}", usage());
    }
    Ok(
        match connector
            .invoke(connection, name, &input.to_string())
            .await?
        {
            Ok(text) => Ok(serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("the component answered text that is not JSON: {e}")
            })?),
            Err(e) => Err(e),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_become_the_operations_input() {
        let op = |name| ops::find(name).unwrap();
        assert_eq!(
            input(op("link-role"), &args(&["r1", "p1"])).unwrap(),
            json!({ "role": "r1", "postingId": "p1" })
        );
        assert_eq!(
            input(op("set-stage-map"), &args(&[r#"{"a":"b"}"#])).unwrap(),
            json!({ "a": "b" })
        );
        assert_eq!(
            input(op("set-upload-tags"), &args(&["x", "y"])).unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(
            input(op("enable-triggers"), &args(&["posting-created"])).unwrap(),
            json!({ "enabled": ["posting-created"] })
        );
        assert_eq!(
            input(op("disconnect"), &args(&["purge"])).unwrap(),
            json!({ "purge": true })
        );
        assert_eq!(input(op("disconnect"), &[]).unwrap(), json!({}));
        assert_eq!(
            input(op("list-notes"), &args(&[r#"{"opportunityId":"o"}"#])).unwrap(),
            json!({ "opportunityId": "o" })
        );
        assert_eq!(
            input(op("set-interview-feedback"), &args(&["true"])).unwrap(),
            json!({ "enabled": true })
        );
        assert!(input(op("set-interview-feedback"), &args(&["yes"])).is_err());
        assert!(input(op("link-role"), &args(&["only-one"])).is_err());
        assert!(input(op("get-status"), &args(&["extra"])).is_err());
        assert!(input(op("disconnect"), &args(&["everything"])).is_err());
    }

    #[test]
    fn usage_names_every_operation() {
        let text = usage();
        for op in ops::all() {
            assert!(
                text.contains(&format!("\n{} <connection>", op.name())),
                "{}",
                op.name()
            );
        }
    }
}
