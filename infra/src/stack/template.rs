//! template.yaml read as CloudFormation reads it: YAML whose short-form intrinsic tags (`!Ref X`,
//! `!GetAtt X.Arn`, `!Sub "…"`) become their long form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["X", "Arn"]}`, `{"Fn::Sub": "…"}`), as JSON values. yaml-rust2's document
//! loader drops the tags, so the tree is built here from its parser's events, which keep them.

use anyhow::{Context, anyhow};
use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, EventReceiver, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// Parses a CloudFormation template (the first YAML document).
pub fn parse(text: &str) -> anyhow::Result<Value> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .context("template.yaml is not valid YAML")?;
    if let Some(error) = builder.error {
        return Err(anyhow!(error));
    }
    builder
        .done
        .ok_or_else(|| anyhow!("template.yaml holds no document"))
}

/// A node being built: a sequence or a mapping (with the key waiting for its value).
enum Open {
    Seq(Vec<Value>, Option<Tag>),
    Map(Map<String, Value>, Option<String>, Option<Tag>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    done: Option<Value>,
    error: Option<String>,
}

impl Builder {
    /// Hands a finished node to its parent (or ends the document).
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            Some(Open::Seq(items, _)) => items.push(value),
            Some(Open::Map(map, key, _)) => match key.take() {
                Some(k) => {
                    map.insert(k, value);
                }
                None => match value {
                    Value::String(k) => *key = Some(k),
                    other => *key = Some(other.to_string()),
                },
            },
            None => {
                if self.done.is_none() {
                    self.done = Some(value);
                }
            }
        }
    }
}

impl EventReceiver for Builder {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Scalar(text, style, _, tag) => {
                let value = scalar(text, style);
                self.push(tagged(tag, value));
            }
            Event::SequenceStart(_, tag) => self.stack.push(Open::Seq(Vec::new(), tag)),
            Event::MappingStart(_, tag) => self.stack.push(Open::Map(Map::new(), None, tag)),
            Event::SequenceEnd | Event::MappingEnd => {
                let value = match self.stack.pop() {
                    Some(Open::Seq(items, tag)) => tagged(tag, Value::Array(items)),
                    Some(Open::Map(map, _, tag)) => tagged(tag, Value::Object(map)),
                    None => return,
                };
                self.push(value);
            }
            // CloudFormation templates use no anchors; an alias reads as null.
            Event::Alias(_) => {
                self.error = Some("template.yaml uses a YAML alias, which is not supported".into())
            }
            _ => {}
        }
    }
}

/// A plain scalar typed as YAML 1.2's core schema types it; a quoted or block one is a string.
/// AWS documents that CloudFormation reads YAML 1.1 "with a few exceptions"
/// (docs.aws.amazon.com, AWSCloudFormation/latest/UserGuide/template-formats.html), where
/// `yes`, `no`, `on` and `off` are booleans too: here they stay strings, and template.yaml uses
/// none of them as values. A number needs a digit (`nan` and `inf` stay strings).
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            let number = text.parse::<i64>().map(Value::from).ok().or_else(|| {
                text.bytes()
                    .any(|b| b.is_ascii_digit())
                    .then(|| text.parse::<f64>().ok().map(Value::from))
                    .flatten()
            });
            number.unwrap_or(Value::String(text))
        }
    }
}

/// The long form of a short-form intrinsic: `!Ref X` → `{"Ref": "X"}`, `!GetAtt X.Y` →
/// `{"Fn::GetAtt": ["X", "Y"]}`, `!Name v` → `{"Fn::Name": v}`; untagged values unchanged.
fn tagged(tag: Option<Tag>, value: Value) -> Value {
    let Some(tag) = tag.filter(|t| t.handle == "!") else {
        return value;
    };
    let name = tag.suffix;
    let mut long = Map::new();
    match name.as_str() {
        "Ref" => {
            long.insert("Ref".into(), value);
        }
        "Condition" => {
            long.insert("Condition".into(), value);
        }
        "GetAtt" => {
            let parts = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => {
                        Value::Array(vec![resource.into(), attribute.into()])
                    }
                    None => Value::String(s),
                },
                other => other,
            };
            long.insert("Fn::GetAtt".into(), parts);
        }
        _ => {
            long.insert(format!("Fn::{name}"), value);
        }
    }
    Value::Object(long)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_intrinsics_become_their_long_form() {
        let template = parse(
            "A:\n  B: !Ref Queue\n  C: !GetAtt Queue.Arn\n  D: !Sub \"x-${AWS::Region}\"\n  E: [!Ref P, 10, true, '10']\n  F: !If [Has, [!Ref T], !Ref AWS::NoValue]\n",
        )
        .unwrap();
        assert_eq!(
            template,
            json!({"A": {
                "B": {"Ref": "Queue"},
                "C": {"Fn::GetAtt": ["Queue", "Arn"]},
                "D": {"Fn::Sub": "x-${AWS::Region}"},
                "E": [{"Ref": "P"}, 10, true, "10"],
                "F": {"Fn::If": ["Has", [{"Ref": "T"}], {"Ref": "AWS::NoValue"}]},
            }})
        );
    }

    #[test]
    fn the_repository_template_parses() {
        let text = include_str!("../../../template.yaml");
        let template = parse(text).unwrap();
        assert!(
            template["Resources"]
                .as_object()
                .is_some_and(|r| !r.is_empty())
        );
    }
}
